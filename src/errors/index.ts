/**
 * Every failure keyward reports to a user is a KeywardError: a stable code, a one-line
 * message that says what is wrong and what to do, and the process exit code for that class.
 * Messages must never contain secret material; they are printed, logged and put in JSON.
 */
export const EXIT_CODES = {
  UNEXPECTED: 1,
  INVALID_INPUT: 2,
  VAULT_NOT_FOUND: 3,
  WRONG_SECRET: 4,
  VAULT_DAMAGED: 5,
  UNSUPPORTED_VERSION: 6,
  VAULT_BUSY: 7,
  FILE_ACCESS: 8,
  NOT_FOUND: 9,
  ALREADY_EXISTS: 10,
  INPUT_REQUIRED: 11,
  VAULT_ROLLED_BACK: 12,
  OUTPUT_FAILED: 13,
  KEY_MALFORMED: 20,
  KEY_NOT_FOUND: 21,
  KEY_REVOKED: 22,
  KEY_EXPIRED: 23,
  KEY_NOT_YET_VALID: 24,
  KEY_MISSING: 25,
  LISTEN_FAILED: 26,
  UPSTREAM_FAILED: 27,
  AUDIT_BROKEN: 28,
  REPLICAS_NOT_TOLD: 29,
  /** `upstream login`: the sign-in did not complete (denied, state mismatch, wrong issuer, timeout…). */
  LOGIN_FAILED: 30,
  SANDBOX_UNAVAILABLE: 40,
  SCAN_FINDINGS: 41,
  /** `keyward run`: the command cannot be executed, or is not found (the shell's codes). */
  COMMAND_NOT_EXECUTABLE: 126,
  COMMAND_NOT_FOUND: 127,
  CANCELLED: 130,
} as const

export type ErrorCode = keyof typeof EXIT_CODES

export class KeywardError extends Error {
  readonly code: ErrorCode
  readonly exit: number

  constructor(code: ErrorCode, message: string, options?: {cause?: unknown}) {
    super(message, options)
    this.name = 'KeywardError'
    this.code = code
    this.exit = EXIT_CODES[code]
  }
}

export function isKeywardError(err: unknown): err is KeywardError {
  return err instanceof KeywardError
}

/** Node's errno codes for file access, mapped to one clear message; the original error is kept as its `cause`. */
export function fileError(err: unknown, what: string, file: string): KeywardError {
  const code = (err as NodeJS.ErrnoException)?.code
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return new KeywardError('FILE_ACCESS', `cannot access ${what} ${file}: permission denied; check its owner and mode`, {cause: err})
    case 'EISDIR':
      return new KeywardError('FILE_ACCESS', `${what} ${file} is a directory; pass the path of a file`, {cause: err})
    case 'ENOSPC':
      return new KeywardError('FILE_ACCESS', `no space left to write ${what} ${file}; free some space and retry`, {cause: err})
    case 'EROFS':
      return new KeywardError('FILE_ACCESS', `cannot write ${what} ${file}: read-only file system`, {cause: err})
    default:
      return new KeywardError('FILE_ACCESS', `cannot access ${what} ${file} (${code ?? 'unknown error'})`, {cause: err})
  }
}
