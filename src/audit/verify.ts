/**
 * `keyward audit verify`: walks the chain across the rotated segments (plain or compressed) and
 * the live file, and names the first record that is wrong, and how: edited (its MAC fails),
 * missing (a number is skipped, a record does not follow the one before it, or the whole log is
 * gone), reordered (a number comes back later, or twice), or truncated (the head file says the
 * log went further than it does, or is gone). The files are streamed, not held in memory.
 *
 * Where old segments were dropped on purpose (`audit.keep`), the checkpoint names the record
 * before the oldest kept one, MACed: the chain must start right after it.
 */
import path from 'node:path'

import {KeywardError} from '../errors/index.js'
import {checkpointPath, headPath, sharedLogBeside, wasStarted} from './files.js'
import {isDamagedCompression, linesForward, type OpenedFile} from './lines.js'
import {GENESIS, openCheckpoint, openHead, openRecord, type AuditRecord, type ChainHead, type LineCheck} from './record.js'
import {openChain, type ChainSnapshot} from './snapshot.js'

export type Breakage = 'edited' | 'missing' | 'reordered' | 'truncated'

export interface VerifyReport {
  ok: boolean
  /** Records checked (not those older than the checkpoint that are still on disk). */
  records: number
  files: string[]
  /** The last good record. */
  last?: {seq: number; ts: string}
  /** Where the kept chain starts, when older segments were dropped (`audit.keep`). */
  checkpoint?: {seq: number}
  problem?: {kind: Breakage; seq?: number; file: string; line?: number; message: string}
  /** Facts that are not breakage (a head that lags the log after a crash). */
  notes: string[]
}

interface Entry {
  file: string
  fileIndex: number
  line: number
  complete: boolean
  check: LineCheck
}

export interface VerifyOptions {
  /** Where the state directory is (the marker that says the log was started): the process's by default. */
  env?: NodeJS.ProcessEnv
  /** False: read without taking the write lock, as a reader without write access to the directory does. */
  lock?: boolean
}

async function* entries(files: OpenedFile[], key: Buffer, from?: {fileIndex: number; line: number}): AsyncGenerator<Entry> {
  for (let fileIndex = from?.fileIndex ?? 0; fileIndex < files.length; fileIndex++) {
    const file = files[fileIndex].file
    let number = 0
    try {
      for await (const line of linesForward(files[fileIndex])) {
        number = line.number
        if (from && fileIndex === from.fileIndex && line.number <= from.line) continue
        yield {file, fileIndex, line: line.number, complete: line.complete, check: openRecord(key, line.text)}
      }
    } catch (err) {
      if (!isDamagedCompression(err)) throw err
      // Bytes of a compressed segment changed or cut: as much an edit as a changed record.
      const why = `the compressed segment is damaged from here on (${(err as NodeJS.ErrnoException).code})`
      yield {file, fileIndex, line: number + 1, complete: true, check: {ok: false, why}}
      return
    }
  }
}

/** Whether an intact record `seq` comes after `at`: a gap is then a reordering, not a deletion. */
async function appearsLater(files: OpenedFile[], key: Buffer, at: Entry, seq: number): Promise<boolean> {
  for await (const e of entries(files, key, at)) if (e.check.ok && e.check.record.seq === seq) return true
  return false
}

const where = (e: Entry) => `${path.basename(e.file)}:${e.line}`

/**
 * Checks the log as one snapshot saw it (`openChain`: the files opened and the head read under
 * the write lock, then read through the handles), so a writer rotating the log meanwhile never
 * looks like tampering. A snapshot taken without the lock (a reader that cannot take it) may still
 * mix files from before and after a rotation (a directory listing that runs while a segment is
 * renamed may miss it): a problem is reported only once two snapshots in a row find the same one.
 * Tampering is found again, at the same place, every time; a race moves on with the writer.
 */
export async function verifyAudit(file: string, key: Buffer, options: VerifyOptions = {}): Promise<VerifyReport> {
  let previous: string | undefined
  for (let attempt = 1; ; attempt++) {
    const snapshot = await openChain(file, {lock: options.lock})
    let report: VerifyReport
    try {
      report = await verifySnapshot(file, key, snapshot, options)
    } finally {
      await snapshot.close()
    }
    if (report.ok || snapshot.locked) return report
    const seen = `${report.problem?.kind}\n${report.problem?.message}`
    if (seen === previous || attempt >= UNLOCKED_ATTEMPTS) return report
    previous = seen
    await new Promise((resolve) => setTimeout(resolve, attempt * 5))
  }
}

const UNLOCKED_ATTEMPTS = 10

async function verifySnapshot(file: string, key: Buffer, snapshot: ChainSnapshot, options: VerifyOptions): Promise<VerifyReport> {
  const {files, headText, checkpointText} = snapshot
  const report: VerifyReport = {ok: true, records: 0, files: files.map((f) => f.file), notes: []}
  const fail = (kind: Breakage, at: {file: string; line?: number}, seq: number | undefined, message: string): VerifyReport => ({
    ...report,
    ok: false,
    problem: {kind, seq, file: at.file, line: at.line, message},
  })

  if (files.length === 0 && headText === undefined) {
    if (checkpointText !== undefined || (await wasStarted(file, options.env))) {
      return fail('missing', {file}, undefined, `the whole log is gone: it was started here, but neither its records nor its head file ${path.basename(headPath(file))} are left`)
    }
    const shared = await sharedLogBeside(file, options.env)
    const elsewhere = shared ? `; the shared log of earlier versions is ${shared} (--audit-log ${shared})` : '; pass --audit-log if it is elsewhere'
    throw new KeywardError('NOT_FOUND', `there is no audit log at ${file}: nothing audited with this vault was written there yet${elsewhere}`)
  }

  let expected: ChainHead = {seq: 1, mac: GENESIS}
  let checkpoint: ChainHead | undefined
  if (checkpointText !== undefined) {
    checkpoint = openCheckpoint(key, checkpointText)
    if (!checkpoint) return fail('edited', {file: checkpointPath(file)}, undefined, `the checkpoint file ${checkpointPath(file)} was edited (its MAC does not match)`)
    expected = {seq: checkpoint.seq + 1, mac: checkpoint.mac}
    report.checkpoint = {seq: checkpoint.seq}
  }

  let last: AuditRecord | undefined
  let skipped = 0
  for await (const e of entries(files, key)) {
    if (!e.check.ok) {
      if (!e.complete && e.fileIndex === files.length - 1) {
        report.notes.push(`the log ends in an incomplete record (${where(e)}): a writer stopped mid-write (a crash, or a full disk); the next write cuts it off`)
        break
      }
      const label = e.check.seq === undefined ? 'a record' : `record ${e.check.seq}`
      return fail('edited', e, e.check.seq, `${label} (${where(e)}) was edited: ${e.check.why}`)
    }
    const record = e.check.record
    // Segments older than the checkpoint whose deletion was interrupted: past retention, not checked.
    if (checkpoint && !last && record.seq <= checkpoint.seq) {
      skipped++
      continue
    }
    report.records++
    if (record.seq !== expected.seq) {
      if (record.seq < expected.seq) {
        return fail('reordered', e, record.seq, `record ${record.seq} (${where(e)}) is out of order: it comes after record ${expected.seq - 1}`)
      }
      if (await appearsLater(files, key, e, expected.seq)) {
        return fail('reordered', e, record.seq, `record ${record.seq} (${where(e)}) is out of order: record ${expected.seq} comes after it`)
      }
      const gap = record.seq - 1 === expected.seq ? `record ${expected.seq} is` : `records ${expected.seq} to ${record.seq - 1} are`
      const start = last ? '' : checkpoint ? ' (the checkpoint says the kept chain starts there: segments deleted?)' : ' (older segments deleted?)'
      return fail('missing', e, expected.seq, `${gap} missing: ${where(e)} holds record ${record.seq}${start}`)
    }
    if (record.prev !== expected.mac) {
      return fail('missing', e, record.seq, `record ${record.seq} (${where(e)}) does not follow the record before it: records were removed and the chain was continued elsewhere`)
    }
    if (record.event === 'audit.recovered') {
      if (record.lost === 'log') return fail('missing', e, record.seq, `record ${record.seq} (${where(e)}) was written when the log was missing: the log before it was deleted`)
      return fail('truncated', e, record.seq, `record ${record.seq} (${where(e)}) was written when ${String(record.why ?? 'the head file was missing')}: records before it may have been cut off`)
    }
    if (record.event === 'audit.repaired') report.notes.push(`record ${record.seq} (${where(e)}): ${String(record.why)}`)
    last = record
    expected = {seq: record.seq + 1, mac: record.mac}
  }
  if (!last && !checkpoint && (await wasStarted(file, options.env))) {
    // The marker is made only once a record was written: a log that never got one has no marker.
    return fail('missing', {file}, undefined, `no record is left: records were written to this log (its marker in the state directory says so), but the files hold none`)
  }
  if (skipped > 0) report.notes.push(`${skipped} record(s) older than the checkpoint (record ${checkpoint!.seq}) are still on disk and were not checked; the next rotation drops them`)
  if (last) report.last = {seq: last.seq, ts: last.ts}
  return checkHead(report, fail, file, key, headText, last, checkpoint)
}

function checkHead(
  report: VerifyReport,
  fail: (kind: Breakage, at: {file: string}, seq: number | undefined, message: string) => VerifyReport,
  file: string,
  key: Buffer,
  headText: string | undefined,
  last: AuditRecord | undefined,
  checkpoint: ChainHead | undefined,
): VerifyReport {
  const headAt = {file: headPath(file)}
  if (headText === undefined) {
    return fail('truncated', headAt, undefined, `the head file ${headPath(file)} is missing, so a cut-off tail cannot be ruled out`)
  }
  const head = openHead(key, headText)
  if (!head) return fail('edited', headAt, undefined, `the head file ${headPath(file)} was edited (its MAC does not match)`)
  const lastSeq = last?.seq ?? checkpoint?.seq ?? 0
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
