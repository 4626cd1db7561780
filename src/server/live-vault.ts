/**
 * The vault as the running server sees it: loaded at startup, reloaded when the file changes
 * (watched) or on SIGHUP. A reload that fails keeps the last good state and is logged.
 */
import {createHash} from 'node:crypto'
import {watch, type FSWatcher} from 'node:fs'
import path from 'node:path'

import {isKeywardError} from '../errors/index.js'
import {KeyIndex} from '../keys/index.js'
import {adoptNewerCopy, GenerationLedger, generationOf, headerOf, type KeyMaterial, openVault, parseVault, readVaultBytes, updateVault, type Vault, type VaultData} from '../vault/index.js'
import type {Logger} from './log.js'

export interface VaultSnapshot {
  data: VaultData
  keys: KeyIndex
  vaultId: string
  generation: number
  loadedAt: number
}

/** Coalesces bursts of file events (temp write, backup link, rename) into one reload. */
const DEBOUNCE_MS = 30

export class LiveVault {
  private current: VaultSnapshot
  private fingerprint: string
  private watcher?: FSWatcher
  private timer?: NodeJS.Timeout
  private reloading?: Promise<void>
  private again = false
  private readonly listeners: ((snapshot: VaultSnapshot) => void)[] = []

  private constructor(
    readonly file: string,
    private readonly material: KeyMaterial,
    private readonly log: Logger,
    snapshot: VaultSnapshot,
    fingerprint: string,
  ) {
    this.current = snapshot
    this.fingerprint = fingerprint
  }

  private readonly ledger = new GenerationLedger()

  static async load(file: string, material: KeyMaterial, log: Logger): Promise<LiveVault> {
    const ledger = new GenerationLedger()
    const seen = ledger.snapshot()
    const bytes = await readVaultBytes(file)
    const vault = await openVault(file, material, {read: {envelope: parseVault(bytes, file), seen}, ledger})
    return new LiveVault(file, material, log, snapshotOf(vault), sha256(bytes))
  }

  get snapshot(): VaultSnapshot {
    return this.current
  }

  onReload(listener: (snapshot: VaultSnapshot) => void): void {
    this.listeners.push(listener)
  }

  /** Watches the directory, not the file: every save replaces the file by a rename. */
  watch(): void {
    const base = path.basename(this.file)
    this.watcher = watch(path.dirname(this.file), (_event, name) => {
      if (name === null || name === base) this.schedule()
    })
    this.watcher.on('error', (err) => this.log('warn', `stopped watching ${this.file} (${(err as NodeJS.ErrnoException).code ?? err.name}); send SIGHUP to reload`))
  }

  schedule(): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => void this.reload(), DEBOUNCE_MS)
  }

  /** Reloads now; concurrent calls collapse into one more pass after the current one. */
  async reload(): Promise<void> {
    if (this.reloading) {
      this.again = true
      return this.reloading
    }
    this.reloading = this.reloadOnce().finally(() => {
      this.reloading = undefined
      if (this.again) {
        this.again = false
        void this.reload()
      }
    })
    return this.reloading
  }

  private async reloadOnce(): Promise<void> {
    try {
      const seen = this.ledger.snapshot()
      const bytes = await readVaultBytes(this.file)
      const fingerprint = sha256(bytes)
      if (fingerprint === this.fingerprint) return
      const envelope = parseVault(bytes, this.file)
      const header = headerOf(envelope)
      // An older copy put in place would bring back revoked keys: keep serving what we have.
      if (header.vault_id !== this.current.vaultId) {
        this.log('error', `refused to reload ${this.file}: it is another vault (id ${header.vault_id}, serving ${this.current.vaultId}); restart keyward serve to serve it`)
        return
      }
      if (generationOf(header) < this.current.generation) {
        this.log('error', `refused to reload ${this.file}: generation ${generationOf(header)} is older than the generation ${this.current.generation} being served (rollback); still serving generation ${this.current.generation}. To go back on purpose, use \`keyward vault restore\``)
        return
      }
      const vault = await openVault(this.file, this.material, {read: {envelope, seen}, ledger: this.ledger})
      this.current = snapshotOf(vault)
      this.fingerprint = fingerprint
      this.log('info', `reloaded ${this.file} (generation ${this.current.generation}): ${this.current.keys.size} keys, ${vault.data.secrets.size} secrets`)
      for (const listener of this.listeners) listener(this.current)
    } catch (err) {
      const what = isKeywardError(err) ? `${err.code}: ${err.message}` : `${(err as NodeJS.ErrnoException).code ?? (err as Error).name}`
      this.log('error', `vault reload failed (${what}); still serving the version loaded at ${new Date(this.current.loadedAt).toISOString()}`)
    }
  }

  /**
   * Takes a newer copy of this vault from elsewhere (another host's, through Redis): it must
   * open with our secret, be this vault, and be newer than the file, which it then replaces
   * (atomically, under the write lock). Returns what happened, for the log.
   */
  async adopt(bytes: Buffer): Promise<'adopted' | 'not-newer'> {
    const outcome = await adoptNewerCopy(this.file, bytes, this.material)
    await this.reload()
    return outcome
  }

  /** Changes the vault (under the write lock, like any writer), then serves the result. */
  async update<T>(change: (vault: Vault) => T | Promise<T>): Promise<T> {
    const result = await updateVault(this.file, this.material, change, {ledger: this.ledger})
    await this.reload()
    return result
  }

  close(): void {
    clearTimeout(this.timer)
    this.watcher?.close()
  }
}

function snapshotOf(vault: {data: VaultData; generation: number; header: {vault_id: string}}): VaultSnapshot {
  return {data: vault.data, keys: KeyIndex.fromVault(vault.data), vaultId: vault.header.vault_id, generation: vault.generation, loadedAt: Date.now()}
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}
