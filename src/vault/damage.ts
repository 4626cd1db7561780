/** A damaged vault: the error, and what to do about it (every save keeps the previous version beside it). */
import {KeywardError} from '../errors/index.js'

export function restoreHint(file: string): string {
  return `restore the previous version with \`keyward vault restore ${file}.bak\` if there is one`
}

/** A VAULT_DAMAGED error for `file`, with what failed and how to recover. */
export function damaged(file: string, detail: string): KeywardError {
  return new KeywardError('VAULT_DAMAGED', `vault ${file} is damaged (${detail}); ${restoreHint(file)}`)
}
