/**
 * Server logs go to stderr only: over stdio, stdout carries the protocol. Callers pass facts
 * (ids, codes, counts), never credentials or secret values.
 */
export type LogLevel = 'info' | 'warn' | 'error'

export interface Logger {
  (level: LogLevel, message: string): void
}

export function stderrLogger(quiet = false): Logger {
  return (level, message) => {
    if (quiet && level === 'info') return
    process.stderr.write(`keyward serve: ${level === 'info' ? '' : `${level}: `}${message}\n`)
  }
}
