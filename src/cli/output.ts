/**
 * Standard output that fails cleanly. Without a listener, a write error on stdout (a full disk
 * behind `> file`, a reader that went away behind `| head`) is an uncaught 'error' event, and
 * Node prints the bundled source and a stack trace. Here it is one line on stderr and exit 13.
 */
import {KeywardError} from '../errors/index.js'
import {escapeText} from '../text/visible.js'

function outputFailed(err: NodeJS.ErrnoException): KeywardError {
  const why = err.code === 'EPIPE' ? 'the reader closed the pipe' : err.code === 'ENOSPC' ? 'no space left on the device' : (err.code ?? err.message)
  return new KeywardError('OUTPUT_FAILED', `cannot write to standard output (${why})`)
}

let guarded = false
let reported = false
let listener: ((err: NodeJS.ErrnoException) => void) | undefined

/** Installs the process-wide listener once; later write errors are reported once, not per write. */
export function guardStdout(): void {
  if (guarded) return
  guarded = true
  // @oclif/core's own listener rethrows every error but EPIPE, which is the crash described above.
  process.stdout.removeAllListeners('error')
  listener = (err: NodeJS.ErrnoException) => {
    if (reported) return
    reported = true
    const error = outputFailed(err)
    process.exitCode = error.exit
    stderrLine(error.message)
  }
  process.stdout.on('error', listener)
}

/** For `serve` over stdio, where stdout is the protocol: a client that closes it has ended its session, which the transport handles. */
export function releaseStdout(): void {
  if (listener) process.stdout.off('error', listener)
}

/** Writes `data` and resolves once stdout has taken it; rejects with OUTPUT_FAILED if it could not. */
export function writeStdout(data: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      process.stdout.write(data, (err) => {
        if (err) {
          reported = true
          reject(outputFailed(err as NodeJS.ErrnoException))
        } else resolve()
      })
    } catch (err) {
      reported = true
      reject(outputFailed(err as NodeJS.ErrnoException))
    }
  })
}

/**
 * One line to stderr, `keyward: ` first. What it quotes of others (an upstream's error, a
 * server's answer, Redis) is printed with control characters escaped: on a terminal they would act.
 */
export function stderrLine(text: string): void {
  process.stderr.write(`keyward: ${escapeText(text, 100_000)}\n`)
}
