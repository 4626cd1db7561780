/**
 * Opening the audit log for `keyward serve`: its MAC key is created in the vault the first time
 * (one vault write). A log that cannot be opened is logged; with audit.fail-closed, serve then
 * refuses to start.
 */
import {auditKeyOf, AuditLog, ensureAuditKey, resolveAuditPath, sharedLogNote} from '../audit/index.js'
import {auditSettings} from '../config/audit.js'
import {configOf} from '../config/index.js'
import {KeywardError} from '../errors/index.js'
import type {LiveVault} from './live-vault.js'
import type {ServeOptions} from './options.js'
import type {Runtime} from './runtime.js'
import type {AuditTrail} from './stages/audit-requests.js'

export type OpenAudit = AuditTrail & {close(): Promise<void>}

const NOTHING_AUDITED: OpenAudit = {record: async () => {}, ready: async () => true, close: async () => {}}

/** Where serve writes its audit log: --audit-log, KEYWARD_AUDIT_LOG, the vault's audit.path, the per-vault default. */
export function serveAuditFile(options: Pick<ServeOptions, 'settings'>, live: LiveVault): string {
  return resolveAuditPath(options.settings?.['audit.path'], configOf(live.snapshot.data).get('audit.path'), live.snapshot.vaultId)
}

export async function openAudit(options: ServeOptions, live: LiveVault, runtime: () => Runtime, clustered: boolean): Promise<OpenAudit> {
  const {log} = options
  const config = runtime().config
  const failClosed = () => runtime().protection.audit.failClosed
  const file = serveAuditFile(options, live)
  const note = await sharedLogNote(file)
  if (note) log('warn', note)
  let key = auditKeyOf(live.snapshot.data)
  if (!key && clustered) {
    // A replica never writes its copy of a shared vault (the copies would part ways): the key must come from the CLI.
    const why = 'the vault has no audit key yet, and a replica on Redis does not write the vault; run any admin command once (keyward config set audit.args false) to create it'
    if (failClosed()) throw new KeywardError('INVALID_INPUT', why)
    log('warn', `${why}; nothing is audited in this run`)
    return NOTHING_AUDITED
  }
  if (!key) {
    try {
      key = await live.update((vault) => ensureAuditKey(vault.data))
      log('info', `created the audit log's MAC key in the vault`)
    } catch (err) {
      const why = `the audit log's key cannot be stored in the vault (${(err as Error).message})`
      if (failClosed()) throw new KeywardError('FILE_ACCESS', `${why}; audit.fail-closed is on, so keyward serve does not start`)
      log('warn', `${why}; nothing is audited in this run`)
      return NOTHING_AUDITED
    }
  }
  return new AuditLog({
    file,
    key,
    ...auditSettings(config),
    onWarning: (message) => log('warn', message),
    // Under load, a batch every 10 ms at most; with fail-closed a result waits for its record, so no wait.
    batchMs: () => (failClosed() ? 0 : 10),
    onHealth: (healthy, why) => {
      if (healthy) return log('info', `audit log ${file} is being written again`)
      const closed = failClosed()
      log(closed ? 'error' : 'warn', `audit log ${file} cannot be written (${why}); ${closed ? 'requests are refused (audit.fail-closed)' : 'requests are still served (audit.fail-closed is off)'}`)
    },
  })
}
