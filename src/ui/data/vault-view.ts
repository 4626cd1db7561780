/**
 * The vault as the console shows it: opened again whenever the file changed (the CLI or another
 * console may have written it), with the KDF result the session cached. Changes go through the
 * session's `update`, which is `updateVault` under the write lock, checked against the
 * rollback ledger, and published to the replicas like a CLI change.
 */
import {promises as fs} from 'node:fs'

import type {AuditEvent} from '../../audit/index.js'
import {recordAdminAction, type Session} from '../../cli/session.js'
import {openVault, type UpdateResult, type Vault, type VaultData} from '../../vault/index.js'

export class VaultView {
  private current: {stamp: string; data: VaultData; vaultId: string}
  private opening?: Promise<{stamp: string; data: VaultData; vaultId: string}>

  /**
   * The CLI session the console runs in, for the CLI's shared functions (pins, upstream tokens);
   * what it audits goes through `audit` below.
   */
  readonly session: Session

  /** `auditLog`: --audit-log, if given. */
  constructor(
    private readonly opened: Session,
    private readonly auditLog?: string,
  ) {
    this.session = {...opened, audit: (event) => this.audit(event)}
    this.current = {stamp: '', data: opened.vault.data, vaultId: opened.vault.header.vault_id}
  }

  get file(): string {
    return this.session.file
  }

  get vaultId(): string {
    return this.current.vaultId
  }

  /** The vault's data as the file now holds it. */
  async data(): Promise<VaultData> {
    const stamp = await stampOf(this.session.file)
    if (stamp === this.current.stamp) return this.current.data
    this.opening ??= (async () => {
      try {
        const vault = await openVault(this.session.file, this.session.material, {ledger: this.session.ledger})
        this.current = {stamp, data: vault.data, vaultId: vault.header.vault_id}
        return this.current
      } finally {
        this.opening = undefined
      }
    })()
    return (await this.opening).data
  }

  /** A change, made as the CLI makes it; `written` is false when it changed nothing. */
  update<T>(change: (vault: Vault) => Promise<T> | T): Promise<UpdateResult<T>> {
    return this.session.updateDetailed(change)
  }

  /**
   * Records a change in the audit log (as actor "ui", with the OS user). With the vault as the
   * file holds it now: the console outlives CLI changes, and a session's own copy would name the
   * log (audit.path) and its key as they were when it was opened or last wrote.
   */
  audit(event: AuditEvent): Promise<void> {
    const written = this.data()
      .then(
        (data) => recordAdminAction({data, vaultId: this.vaultId}, event, this.auditLog, 'ui'),
        // The change has been made: a vault that cannot be read just now still gets it recorded, as the session last saw it.
        () => this.opened.audit(event),
      )
      .finally(() => this.writing.delete(written))
    this.writing.add(written)
    return written
  }

  /** Resolves when every audit record asked for so far has been written (before the console exits). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.writing])
  }

  private readonly writing = new Set<Promise<void>>()
}

/** Changes whenever the file is replaced or rewritten (every save is a rename). */
async function stampOf(file: string): Promise<string> {
  const s = await fs.stat(file)
  return `${s.ino}:${s.size}:${s.mtimeMs}`
}
