import {KeywardError} from '../errors/index.js'
import {restoreHint} from './damage.js'

export interface Argon2idParams {
  name: 'argon2id'
  memory_kib: number
  iterations: number
  parallelism: number
}

/** RFC 9106's second recommended option (64 MiB, t=3), kept at p=1 as OWASP advises. */
export const DEFAULT_ARGON2ID: Argon2idParams = {name: 'argon2id', memory_kib: 65_536, iterations: 3, parallelism: 1}

/** OWASP's floor. A header asking for less was tampered with or downgraded. */
const MIN = {memory_kib: 19_456, iterations: 2, parallelism: 1}
/**
 * A ceiling, checked before any work, so that a tampered header cannot make unlock allocate
 * gigabytes or spin for minutes: 16 times what `init` creates in memory, 5 times in passes.
 */
const MAX = {memory_kib: 1_048_576, iterations: 16, parallelism: 8}

export function checkArgon2idParams(params: Argon2idParams, file: string): void {
  for (const field of ['memory_kib', 'iterations', 'parallelism'] as const) {
    const value = params[field]
    if (!Number.isInteger(value) || value < MIN[field] || value > MAX[field]) {
      throw new KeywardError(
        'VAULT_DAMAGED',
        `vault header has argon2id ${field}=${String(value)}, outside the accepted range ${MIN[field]}..${MAX[field]}; the file was altered: ${restoreHint(file)}`,
      )
    }
  }
}

export async function argon2id(passphrase: string, salt: Buffer, params: Argon2idParams, file: string): Promise<Buffer> {
  checkArgon2idParams(params, file)
  // Loaded only when a passphrase is used: key-file unlocks never pay for the native module.
  const {hashRaw, Algorithm} = await import('@node-rs/argon2')
  const raw = await hashRaw(passphrase.normalize('NFC'), {
    algorithm: Algorithm.Argon2id,
    memoryCost: params.memory_kib,
    timeCost: params.iterations,
    parallelism: params.parallelism,
    outputLen: 32,
    salt,
  })
  return Buffer.from(raw)
}
