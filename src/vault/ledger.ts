/**
 * The rollback ledger: the highest generation this user has seen of each vault, by vault id,
 * in $XDG_STATE_HOME/keyward/generations.json. An older genuine copy put in the vault's place
 * (the `.bak`, a backup, a copy from another machine) decrypts fine, and would silently bring
 * back revoked keys and removed secrets; the ledger is what recognises it.
 *
 * What it cannot see: a rollback to a version older than one this user's keyward ever opened
 * (see docs/vault-format.md).
 */
import {randomBytes} from 'node:crypto'
import {closeSync, constants, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync} from 'node:fs'
import path from 'node:path'

import {KeywardError} from '../errors/index.js'
import {isObject} from './format.js'
import {defaultStateDir} from './paths.js'

interface Entry {
  generation: number
  seen: string
  path: string
}

/**
 * What the ledger held at one moment. It must be read before the vault file is: a generation is
 * recorded only after it is on disk, so a file read later that is older can only be a rollback,
 * never a concurrent writer's progress.
 */
export class LedgerSnapshot {
  constructor(private readonly vaults: Record<string, Entry>) {}

  /** The highest generation seen of this vault, if any. */
  seen(vaultId: string): Entry | undefined {
    const entry = this.vaults[vaultId]
    return entry && Number.isSafeInteger(entry.generation) ? entry : undefined
  }

  /** True when `generation` of this vault, or a later one, was seen already: recording it would change nothing. */
  holds(vaultId: string, generation: number): boolean {
    return (this.seen(vaultId)?.generation ?? -1) >= generation
  }

  /** Throws VAULT_ROLLED_BACK when `generation` is older than one seen before. */
  check(vaultId: string, generation: number, vaultFile: string): void {
    const entry = this.seen(vaultId)
    if (entry && generation < entry.generation) {
      throw new KeywardError(
        'VAULT_ROLLED_BACK',
        `vault ${vaultFile} is generation ${generation}, but generation ${entry.generation} of it was seen on ${entry.seen.slice(0, 19)}Z: an older copy replaced it, which would bring back revoked keys and removed secrets. If you restored a backup on purpose, accept it with \`keyward vault restore ${vaultFile}\``,
      )
    }
  }
}

export class GenerationLedger {
  constructor(readonly file = path.join(defaultStateDir(), 'generations.json')) {}

  private read(): Record<string, Entry> {
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(this.file, 'utf8'))
    } catch {
      return {}
    }
    return isObject(parsed) && isObject(parsed.vaults) ? (parsed.vaults as Record<string, Entry>) : {}
  }

  /** Read before the vault file; see LedgerSnapshot. */
  snapshot(): LedgerSnapshot {
    return new LedgerSnapshot(this.read())
  }

  /** Remembers `generation` if it is the highest seen. Best effort: a ledger that cannot be written never fails a command. */
  record(vaultId: string, generation: number, vaultFile: string): void {
    const vaults = this.read()
    if ((vaults[vaultId]?.generation ?? -1) >= generation) return
    vaults[vaultId] = {generation, seen: new Date().toISOString(), path: vaultFile}
    const tmp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`
    try {
      mkdirSync(path.dirname(this.file), {recursive: true, mode: 0o700})
      const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600)
      try {
        writeSync(fd, JSON.stringify({version: 1, vaults}, null, 2) + '\n')
      } finally {
        closeSync(fd)
      }
      renameSync(tmp, this.file)
    } catch {
      rmSync(tmp, {force: true})
    }
  }
}
