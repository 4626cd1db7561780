import {KeywardCommand} from '../../src/cli/base.js'
import {openSession} from '../../src/cli/session.js'
import {configOf} from '../../src/config/index.js'
import {KeywardError} from '../../src/errors/index.js'

export default class AuditVerify extends KeywardCommand {
  static override summary = 'Check the audit log: every record, in order, none missing, none edited, the tail intact.'
  static override description = `Walks the HMAC chain through the rotated files (compressed or not) and the live one, with the key kept in the vault (so it unlocks the vault). Exits 0 when the log is intact; otherwise exits 28 and names the first bad record and what is wrong with it: edited, missing (a record, a segment, or the whole log), reordered, or truncated. Exits 9 when no log was ever written for this vault here.

Each vault has its own log, $XDG_STATE_HOME/keyward/audit/<vault id>.jsonl, unless --audit-log, KEYWARD_AUDIT_LOG or audit.path names another. Where old files were dropped (audit.keep), the chain starts at the MACed checkpoint.

What it cannot see: the log and its head file both replaced by an older copy of themselves. Ship the log off the machine (syslog, a SIEM) to guard against that.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --audit-log /var/log/keyward/audit.jsonl',
    '<%= config.bin %> <%= command.id %> --json',
  ]

  static override enableJsonFlag = true

  async run() {
    const {flags} = await this.parse(AuditVerify)
    const session = await openSession(flags)
    const {auditKeyOf, resolveAuditPath, sharedLogNote, verifyAudit} = await import('../../src/audit/index.js')
    const file = resolveAuditPath(flags['audit-log'], configOf(session.vault.data).get('audit.path'), session.vault.header.vault_id)
    const note = await sharedLogNote(file)
    if (note) process.stderr.write(`note: ${note}\n`)
    const key = auditKeyOf(session.vault.data)
    if (!key) throw new KeywardError('NOT_FOUND', `this vault has no audit key yet, so nothing was audited with it; the log ${file} was not written by it`)
    const report = await verifyAudit(file, key)
    if (!report.ok) {
      const problem = report.problem!
      if (this.jsonEnabled()) {
        process.exitCode = 28
        return {ok: false, file, records: report.records, kind: problem.kind, seq: problem.seq ?? null, at: problem.line ? `${problem.file}:${problem.line}` : problem.file, message: problem.message}
      }
      throw new KeywardError('AUDIT_BROKEN', `audit log ${file}: ${problem.kind}: ${problem.message}`)
    }
    for (const note of report.notes) process.stderr.write(`note: ${note}\n`)
    const from = report.checkpoint ? `, from the checkpoint after record ${report.checkpoint.seq}` : ''
    this.log(`audit log ${file} is intact: ${report.records} record(s) in ${report.files.length} file(s)${from}${report.last ? `, the last (${report.last.seq}) written ${report.last.ts}` : ''}`)
    return {ok: true, file, records: report.records, files: report.files, checkpoint: report.checkpoint ?? null, last: report.last ?? null, notes: report.notes}
  }
}
