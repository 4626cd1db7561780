/**
 * Drives a command through a real pseudo-terminal, using util-linux `script` (always present
 * on Debian), so that stdin and stdout are TTYs and the interactive paths run as for a user.
 */
import {spawn} from 'node:child_process'

import {BIN} from './cli.js'

export interface Step {
  /** Wait until the terminal output (ANSI codes stripped) matches this. */
  expect: RegExp
  /** Then type this ("\r" is Enter). */
  send: string
}

export interface PtyResult {
  code: number | null
  output: string
}

const strip = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\x1b[()][A-Z0-9]/g, '')

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

export function runInPty(args: string[], env: Record<string, string>, steps: Step[], timeoutMs = 20_000): Promise<PtyResult> {
  const command = [process.execPath, BIN, ...args].map(quote).join(' ')
  const child = spawn('script', ['-qfec', command, '/dev/null'], {env: {...env, TERM: 'xterm', COLUMNS: '120', LINES: '40'}, stdio: ['pipe', 'pipe', 'pipe']})
  let output = ''
  let consumed = 0
  let step = 0
  const advance = () => {
    while (step < steps.length) {
      const text = strip(output.slice(consumed))
      const match = steps[step].expect.exec(text)
      if (!match) return
      consumed = output.length
      child.stdin.write(steps[step].send)
      step++
    }
  }
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    output += d
    // Inquirer redraws after each key; give it a moment before typing the next answer.
    setTimeout(advance, 50)
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`pty timed out at step ${step} (${steps[step]?.expect}); output:\n${strip(output)}`))
    }, timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (step < steps.length) reject(new Error(`command ended (exit ${code}) before step ${step} (${steps[step].expect}); output:\n${strip(output)}`))
      else resolve({code, output: strip(output)})
    })
  })
}
