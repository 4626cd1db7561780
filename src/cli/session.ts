/**
 * The steps every vault command repeats: find the vault, pick its unlock secret, open it, and
 * check it against the rollback ledger. Writers then call `session.update()`: unlocking first
 * means a wrong secret fails before the write lock is taken, and the KDF result is cached for
 * the write. After a change, `session.audit()` records it, by name only.
 */
import os from 'node:os'

import type {AuditEvent} from '../audit/index.js'
import {
  generationOf,
  GenerationLedger,
  headerOf,
  type KeyMaterial,
  openVault,
  readVault,
  readWithLedger,
  resolveVaultPath,
  updateVaultDetailed,
  type UpdateOptions,
  type UpdateResult,
  type Vault,
  type VaultData,
} from '../vault/index.js'
import {resolveUnlock, type UnlockFlags} from './unlock.js'
import {stderrLine} from './output.js'

export interface VaultFlags extends UnlockFlags {
  vault?: string
  /** Redis of the serve replicas to tell about a change. */
  redis?: string
  /** The audit log admin actions are recorded in (beats KEYWARD_AUDIT_LOG and audit.path). */
  'audit-log'?: string
}

export interface Session {
  file: string
  material: KeyMaterial
  vault: Vault
  ledger: GenerationLedger
  /** updateVault() on this session's vault, checked against the ledger. */
  update<T>(change: (vault: Vault) => Promise<T> | T): Promise<T>
  updateDetailed<T>(change: (vault: Vault) => Promise<T> | T, options?: Omit<UpdateOptions, 'ledger'>): Promise<UpdateResult<T>>
  /**
   * Records an admin action in the audit log. The change has been made whatever happens here:
   * a log that cannot be written is reported on stderr, and the command still succeeds.
   */
  audit(event: AuditEvent): Promise<void>
}

export interface SessionOptions {
  allowPrompt?: boolean
  /** Who the admin actions are recorded as: the CLI, or the console (`keyward ui`). */
  actor?: AdminActor
}

export type AdminActor = 'cli' | 'ui'

export async function openSession(flags: VaultFlags, options: SessionOptions = {}): Promise<Session> {
  const file = resolveVaultPath(flags.vault)
  const ledger = new GenerationLedger()
  const read = await readWithLedger(file, ledger)
  const material = await resolveUnlock(headerOf(read.envelope), file, flags, options)
  const vault = await openVault(file, material, {read, ledger})
  // The vault as last written by this session: where the audit key and the audit settings are.
  let latest: Vault = vault
  // With replicas on Redis, under the cluster's write lease and from the newest copy (cli/cluster-write.ts).
  // What only a write needs (the cluster, the replicas, the keys a change adds, and the settings
  // and scope matching they import) is loaded by the first write: read-only commands such as
  // `secrets list` start without it.
  const updateDetailed = async <T>(change: (vault: Vault) => Promise<T> | T, more: Omit<UpdateOptions, 'ledger'> = {}) => {
    const {underClusterLease} = await import('./cluster-write.js')
    // Whether there is a cluster, and its key, as the vault has them now, not as this session last
    // saw them: a console session lives for hours, and Redis may have been set up meanwhile. Only a
    // file another writer has changed since is opened again (a command's one write is not).
    const onDisk = generationOf(headerOf(await readVault(file)))
    const current = onDisk === latest.generation ? latest.data : (await openVault(file, material, {ledger})).data
    return underClusterLease(file, material, current, flags.redis, () => updateHere(change, more))
  }
  const updateHere = async <T>(change: (vault: Vault) => Promise<T> | T, more: Omit<UpdateOptions, 'ledger'>) => {
    const [{notifyReplicas, revokedKeyIds}, {ensureAuditKey}, {ensureRequestStateKey}] = await Promise.all([
      import('./replicas.js'),
      import('../audit/key.js'),
      import('../server/era/state-key.js'),
    ])
    let revoked: string[] = []
    const outcome = await updateVaultDetailed(
      file,
      material,
      async (v) => {
        const before = v.contentFingerprint()
        const wasRevoked = revokedKeyIds(v.data)
        const result = await change(v)
        // The audit log's key is made by the first change that will be audited, in the same write; the request-state key with it.
        if (v.contentFingerprint() !== before) {
          ensureAuditKey(v.data)
          ensureRequestStateKey(v.data)
        }
        revoked = [...revokedKeyIds(v.data)].filter((id) => !wasRevoked.has(id))
        latest = v
        return result
      },
      {...more, ledger},
    )
    if (outcome.written) await notifyReplicas(file, latest.data, revoked, flags.redis)
    return outcome
  }
  return {
    file,
    material,
    vault,
    ledger,
    updateDetailed,
    update: async (change) => (await updateDetailed(change)).result,
    audit: (event) => recordAdminAction({data: latest.data, vaultId: vault.header.vault_id}, event, flags['audit-log'], options.actor),
  }
}

/**
 * For commands that change the vault without a session (up, restore): records with the key the
 * vault's data holds, in the log `resolveAuditPath` names for that vault (the one serve writes
 * and audit verify reads).
 */
export async function recordAdminAction(vault: {data: VaultData; vaultId: string}, event: AuditEvent, auditLog?: string, actor: AdminActor = 'cli'): Promise<void> {
  const {auditKeyOf} = await import('../audit/key.js')
  const key = auditKeyOf(vault.data)
  if (!key) return
  const [{AuditLog, resolveAuditPath, sharedLogNote}, {auditSettings}, {configOf}] = await Promise.all([import('../audit/index.js'), import('../config/audit.js'), import('../config/index.js')])
  const config = configOf(vault.data)
  const file = resolveAuditPath(auditLog, config.get('audit.path'), vault.vaultId)
  const note = await sharedLogNote(file)
  if (note) stderrLine(`note: ${note}`)
  const warn = (message: string) => stderrLine(`warning: ${message}`)
  const log = new AuditLog({file, key, ...auditSettings(config), onWarning: warn})
  try {
    await log.record({...event, actor, user: osUser(), pid: process.pid})
  } catch (err) {
    warn(`the change was made, but the audit log ${file} cannot be written (${(err as Error).message})`)
  } finally {
    // It holds the live file open (writer.ts, pinLive): the console makes one of these per change.
    await log.close()
  }
}

function osUser(): string {
  try {
    return os.userInfo().username
  } catch {
    return String(process.getuid?.() ?? 'unknown')
  }
}
