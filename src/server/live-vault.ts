/**
 * The vault as the running server sees it: loaded at startup, reloaded when the file changes
 * (watched) or on SIGHUP. A reload that fails keeps the last good state and is logged.
 */
import {createHash} from 'node:crypto'
import {watch, type FSWatcher} from 'node:fs'
import path from 'node:path'

import {isKeywardError} from '../errors/index.js'
import {KeyIndex} from '../keys/index.js'
import {type KeyMaterial, openVault, parseVault, readVaultBytes, type VaultData} from '../vault/index.js'
import type {Logger} from './log.js'

export interface VaultSnapshot {
  data: VaultData
  keys: KeyIndex
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

  static async load(file: string, material: KeyMaterial, log: Logger): Promise<LiveVault> {
    const bytes = await readVaultBytes(file)
    const vault = await openVault(file, material, parseVault(bytes, file))
    return new LiveVault(file, material, log, snapshotOf(vault.data), sha256(bytes))
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
      const bytes = await readVaultBytes(this.file)
      const fingerprint = sha256(bytes)
      if (fingerprint === this.fingerprint) return
      const vault = await openVault(this.file, this.material, parseVault(bytes, this.file))
      this.current = snapshotOf(vault.data)
      this.fingerprint = fingerprint
      this.log('info', `reloaded ${this.file}: ${this.current.keys.size} keys, ${vault.data.secrets.size} secrets`)
      for (const listener of this.listeners) listener(this.current)
    } catch (err) {
      const what = isKeywardError(err) ? `${err.code}: ${err.message}` : `${(err as NodeJS.ErrnoException).code ?? (err as Error).name}`
      this.log('error', `vault reload failed (${what}); still serving the version loaded at ${new Date(this.current.loadedAt).toISOString()}`)
    }
  }

  close(): void {
    clearTimeout(this.timer)
    this.watcher?.close()
  }
}

function snapshotOf(data: VaultData): VaultSnapshot {
  return {data, keys: KeyIndex.fromVault(data), loadedAt: Date.now()}
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}
