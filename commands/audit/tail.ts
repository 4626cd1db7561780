import {Flags} from '@oclif/core'

import {KeywardCommand} from '../../src/cli/base.js'
import {openSession} from '../../src/cli/session.js'
import {configOf} from '../../src/config/index.js'
import {parseDuration} from '../../src/keys/index.js'
import {escapeText} from '../../src/text/visible.js'

/** Shown in the line's first columns, or not at all (the chain's fields). */
const LEAD = new Set(['seq', 'ts', 'event', 'prev', 'mac'])
/** A caller, shown as `principal (name)`, when there is one. */
const CALLER = new Set(['principal', 'name', 'key', 'auth'])

function line(record: Record<string, unknown>): string {
  const who = record.principal ? ` ${record.principal}${record.name && record.name !== record.principal ? ` (${record.name})` : ''}` : ''
  const rest = Object.entries(record)
    .filter(([k]) => !LEAD.has(k) && !(record.principal && CALLER.has(k)))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ')
  // Fields a client chose (a tool name) are printed as they read: their control sequences would act on the terminal.
  return escapeText(`${record.ts}  ${String(record.seq).padStart(6)}  ${String(record.event).padEnd(16)}${who}${rest ? `  ${rest}` : ''}`, 100_000)
}

export default class AuditTail extends KeywardCommand {
  static override summary = 'Show the latest audit records, optionally following new ones.'
  static override description = `Prints records as they are in the files (rotated and compressed ones too), without checking their MACs: use \`keyward audit verify\` for that. The vault is opened only to find its log (audit.path, else $XDG_STATE_HOME/keyward/audit/<vault id>.jsonl) when neither --audit-log nor KEYWARD_AUDIT_LOG is given.

Event types: server.start, server.stop, server.reload, auth.success, auth.failure, authz.denied, ratelimit, guard.block, redaction, tool.call, prompt.get, resource.read, request.refused; admin actions key.*, secret.*, upstream.*, vault.*, config.*.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --follow --event auth.failure',
    '<%= config.bin %> <%= command.id %> --key ci-bot --since 1h',
    '<%= config.bin %> <%= command.id %> --event guard --json',
  ]

  static override flags = {
    follow: Flags.boolean({char: 'f', description: 'Keep printing records as they are written, until interrupted; by sequence number, so none is skipped or repeated when the log rotates.'}),
    key: Flags.string({description: 'Only records of this key (id or name), token subject or principal.'}),
    event: Flags.string({description: 'Only this event type (auth.failure), or this group (auth).'}),
    since: Flags.string({description: 'Only records from this long ago on: 90s, 15m, 1h, 2d.'}),
    lines: Flags.integer({char: 'n', description: 'How many records to show first.', default: 20, min: 0, max: 1_000_000}),
  }

  static override enableJsonFlag = true

  async run() {
    const {flags} = await this.parse(AuditTail)
    const {followRecords, resolveAuditPath, tailRecords} = await import('../../src/audit/index.js')
    const explicit = flags['audit-log'] || process.env.KEYWARD_AUDIT_LOG
    // Only an explicit path spares unlocking the vault: the default names the vault's own log.
    const vault = explicit ? undefined : (await openSession(flags)).vault
    const file = resolveAuditPath(flags['audit-log'], vault ? configOf(vault.data).get('audit.path') : undefined, vault?.header.vault_id ?? '')
    const filter = {key: flags.key, event: flags.event, since: flags.since ? Date.now() - parseDuration(flags.since, '--since') : undefined}
    // One snapshot gives the records shown and the number following goes on from: nothing written in between is lost.
    const {records, after} = await tailRecords(file, filter, flags.lines)
    if (!flags.follow) {
      if (!this.jsonEnabled()) for (const r of records) this.log(line(r))
      return {file, records}
    }
    // Following: one JSON object per line under --json, so that the output can be piped as it comes.
    const print = (r: Record<string, unknown>) => process.stdout.write(`${this.jsonEnabled() ? JSON.stringify(r) : line(r)}\n`)
    records.forEach(print)
    const stop = new AbortController()
    process.on('SIGINT', () => stop.abort())
    process.on('SIGTERM', () => stop.abort())
    await followRecords(file, filter, print, stop.signal, after)
  }
}
