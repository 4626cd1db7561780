/** Starts the built `keyward ui` as a user would (here with --no-open), and reads its login link. */
import type {ChildProcess} from 'node:child_process'

import type {Sandbox} from './cli.js'

export interface RunningUi {
  child: ChildProcess
  /** The one-time login link it printed. */
  login: string
  origin: string
  /** Host and port as a Host header names them: the loopback address of this run's own. */
  host: string
  port: number
  output(): string
  /** What it printed on stdout: the login links. */
  stdout(): string
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

export async function startUi(box: Sandbox, args: string[] = ['--no-open'], env: Record<string, string | undefined> = {}): Promise<RunningUi> {
  const child = box.spawn(['ui', '--port', '0', ...args], {env})
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keyward ui did not start:\n${stderr}`)), 20_000)
    const check = () => {
      const m = /keyward console on (http:\/\/127\.\d+\.\d+\.\d+:\d+)/.exec(stderr)
      const linkShown = !args.includes('--no-open') || /\/login\?token=\S+\n/.test(stdout)
      if (m && linkShown) {
        clearTimeout(timer)
        resolve(m[1])
      }
    }
    child.stdout!.on('data', check)
    child.stderr!.on('data', check)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`keyward ui exited with ${code}:\n${stderr}`))
    })
  })
  child.removeAllListeners('exit')
  return {
    child,
    login: /(http:\/\/[^\s"]+\/login\?token=[^\s"]+)/.exec(stdout)?.[1] ?? '',
    origin,
    host: new URL(origin).host,
    port: Number(new URL(origin).port),
    output: () => stderr,
    stdout: () => stdout,
    stop(signal: NodeJS.Signals = 'SIGINT') {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode)
        child.once('exit', (code) => resolve(code))
        child.kill(signal)
      })
    },
  }
}
