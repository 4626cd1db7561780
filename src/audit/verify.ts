/**
 * `keyward audit verify`: walks the chain across the rotated segments and the live file, and
 * names the first record that is wrong, and how: edited (its MAC fails), missing (a number is
 * skipped), reordered (a number comes back later, or twice), or truncated (the head file says
 * the log went further than it does).
 */
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {KeywardError} from '../errors/index.js'
import {chainFiles, headPath} from './files.js'
import {GENESIS, openHead, openRecord, type AuditRecord, type ChainHead, type LineCheck} from './record.js'

export type Breakage = 'edited' | 'missing' | 'reordered' | 'truncated'

export interface VerifyReport {
  ok: boolean
  records: number
  files: string[]
  /** The last good record. */
  last?: {seq: number; ts: string}
  problem?: {kind: Breakage; seq?: number; file: string; line?: number; message: string}
  /** Facts that are not breakage (a head that lags the log after a crash). */
  notes: string[]
}

interface Entry {
  file: string
  line: number
  check: LineCheck
}

export async function verifyAudit(file: string, key: Buffer): Promise<VerifyReport> {
  const files = await chainFiles(file)
  const headText = await fs.readFile(headPath(file), 'utf8').catch(() => undefined)
  if (files.length === 0 && headText === undefined) {
    throw new KeywardError('NOT_FOUND', `there is no audit log at ${file}; pass --audit-log, or run keyward serve or an admin command first`)
  }
  const entries: Entry[] = []
  for (const f of files) {
    const lines = (await fs.readFile(f, 'utf8')).split('\n')
    if (lines.at(-1) === '') lines.pop()
    lines.forEach((text, i) => entries.push({file: f, line: i + 1, check: openRecord(key, text)}))
  }
  const report: VerifyReport = {ok: true, records: entries.length, files, notes: []}
  const fail = (kind: Breakage, at: Partial<Entry> & {file: string}, seq: number | undefined, message: string): VerifyReport => ({
    ...report,
    ok: false,
    problem: {kind, seq, file: at.file, line: at.line, message},
  })
  const where = (e: Entry) => `${path.basename(e.file)}:${e.line}`

  // Where each sequence number appears, to tell a reordering from a deletion.
  const positions = new Map<number, number[]>()
  entries.forEach((e, i) => {
    if (e.check.ok) positions.set(e.check.record.seq, [...(positions.get(e.check.record.seq) ?? []), i])
  })

  let expected: ChainHead = {seq: 1, mac: GENESIS}
  let last: AuditRecord | undefined
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]
    if (!e.check.ok) {
      const label = e.check.seq === undefined ? 'a record' : `record ${e.check.seq}`
      return fail('edited', e, e.check.seq, `${label} (${where(e)}) was edited: ${e.check.why}`)
    }
    const record = e.check.record
    if (record.seq !== expected.seq) {
      if (record.seq < expected.seq) {
        return fail('reordered', e, record.seq, `record ${record.seq} (${where(e)}) is out of order: it comes after record ${expected.seq - 1}`)
      }
      const later = (positions.get(expected.seq) ?? []).some((p) => p > i)
      if (later) return fail('reordered', e, record.seq, `record ${record.seq} (${where(e)}) is out of order: record ${expected.seq} comes after it`)
      const gap = record.seq - 1 === expected.seq ? `record ${expected.seq} is` : `records ${expected.seq} to ${record.seq - 1} are`
      return fail('missing', e, expected.seq, `${gap} missing: ${where(e)} holds record ${record.seq}${i === 0 ? ' (older segments deleted?)' : ''}`)
    }
    if (record.prev !== expected.mac) {
      return fail('missing', e, record.seq, `record ${record.seq} (${where(e)}) does not follow the record before it: records were removed and the chain was continued elsewhere`)
    }
    if (record.event === 'audit.recovered') {
      return fail('truncated', e, record.seq, `record ${record.seq} (${where(e)}) was written when ${String(record.why ?? 'the head file was missing')}: records before it may have been cut off`)
    }
    last = record
    expected = {seq: record.seq + 1, mac: record.mac}
  }
  if (last) report.last = {seq: last.seq, ts: last.ts}

  const headAt = {file: headPath(file)}
  if (headText === undefined) {
    return fail('truncated', headAt, undefined, `the head file ${headPath(file)} is missing, so a cut-off tail cannot be ruled out`)
  }
  const head = openHead(key, headText)
  if (!head) return fail('edited', headAt, undefined, `the head file ${headPath(file)} was edited (its MAC does not match)`)
  const lastSeq = last?.seq ?? 0
  if (head.seq > lastSeq) {
    const cut = head.seq === lastSeq + 1 ? `record ${head.seq} was` : `records ${lastSeq + 1} to ${head.seq} were`
    return fail('truncated', headAt, lastSeq + 1, `the log is truncated: it ends at record ${lastSeq}, the head file says ${head.seq}; ${cut} cut off`)
  }
  if (head.seq === lastSeq && last && head.mac !== last.mac) {
    return fail('truncated', headAt, lastSeq, `the log's last record ${lastSeq} is not the one the head file names: the tail was cut off and replaced`)
  }
  if (head.seq < lastSeq) report.notes.push(`the head file names record ${head.seq}, the log goes on to ${lastSeq} (a writer stopped before updating the head); the records after it are intact`)
  return report
}
