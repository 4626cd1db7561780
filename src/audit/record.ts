/**
 * The audit log's records: one JSON object per line, whose last field is an HMAC-SHA-256 of
 * everything before it, including the previous record's MAC. The MAC is over the line's exact
 * bytes, so verifying needs no canonical form: `{...,"prev":"<mac>","mac":"<mac>"}`.
 */
import {createHmac, timingSafeEqual} from 'node:crypto'

/** The `prev` of the first record ever written. */
export const GENESIS = '0'.repeat(64)

/** What a stage or command records; `seq`, `ts`, `prev` and `mac` are added when it is written. */
export interface AuditEvent {
  event: string
  [field: string]: unknown
}

export interface AuditRecord extends AuditEvent {
  seq: number
  ts: string
  prev: string
  mac: string
}

/** Where the chain stands: the last record's sequence number and MAC. */
export interface ChainHead {
  seq: number
  mac: string
}

const MAC_TAIL = /,"mac":"([0-9a-f]{64})"\}$/

function hmac(key: Buffer, domain: string, text: string): string {
  // A domain word, so that a head's MAC can never pass for a record's, or the reverse.
  return createHmac('sha256', key).update(domain).update('\n').update(text).digest('hex')
}

/** The line for `event`, chained after `head`, without its newline. */
export function sealRecord(key: Buffer, head: ChainHead, event: AuditEvent, ts = new Date()): {line: string; head: ChainHead} {
  const seq = head.seq + 1
  // The chain's own fields are the writer's: an event that carries one of the same name does not replace it.
  const {event: name, seq: _seq, ts: _ts, prev: _prev, mac: _mac, ...fields} = event
  const body = JSON.stringify({seq, ts: ts.toISOString(), event: name, ...fields, prev: head.mac})
  const mac = hmac(key, 'record', body)
  return {line: `${body.slice(0, -1)},"mac":"${mac}"}`, head: {seq, mac}}
}

export type LineCheck = {ok: true; record: AuditRecord} | {ok: false; seq?: number; why: string}

/** Checks one line's MAC; the record comes back only when the MAC holds. */
export function openRecord(key: Buffer, line: string): LineCheck {
  const tail = MAC_TAIL.exec(line)
  const seqHint = /^\{"seq":(\d{1,15}),/.exec(line)
  const seq = seqHint ? Number(seqHint[1]) : undefined
  if (!tail) return {ok: false, seq, why: 'it is not a sealed record (no MAC at its end)'}
  const body = `${line.slice(0, tail.index)}}`
  if (!sameHex(hmac(key, 'record', body), tail[1])) return {ok: false, seq, why: 'its MAC does not match its content'}
  let record: AuditRecord
  try {
    record = JSON.parse(line) as AuditRecord
  } catch {
    return {ok: false, seq, why: 'it is not JSON'}
  }
  if (!Number.isSafeInteger(record.seq) || typeof record.prev !== 'string') return {ok: false, seq, why: 'it lacks seq or prev'}
  return {ok: true, record}
}

/** The head file's content: the chain's end, MACed so that it cannot be moved back without the key. */
export function sealHead(key: Buffer, head: ChainHead): string {
  return `${JSON.stringify({seq: head.seq, mac: head.mac, head_mac: hmac(key, 'head', `${head.seq}:${head.mac}`)})}\n`
}

export function openHead(key: Buffer, text: string): ChainHead | undefined {
  return openMarked(key, 'head', 'head_mac', text)
}

/**
 * The checkpoint file's content: the record just before the oldest one kept (`audit.keep`), so
 * that a chain whose first segments were dropped on purpose starts there cleanly. MACed in a
 * domain of its own: a head can never pass for a checkpoint, or the reverse.
 */
export function sealCheckpoint(key: Buffer, at: ChainHead, droppedAt = new Date()): string {
  const checkpointMac = hmac(key, 'checkpoint', `${at.seq}:${at.mac}`)
  return `${JSON.stringify({seq: at.seq, mac: at.mac, dropped: droppedAt.toISOString(), checkpoint_mac: checkpointMac})}\n`
}

export function openCheckpoint(key: Buffer, text: string): ChainHead | undefined {
  return openMarked(key, 'checkpoint', 'checkpoint_mac', text)
}

function openMarked(key: Buffer, domain: string, field: string, text: string): ChainHead | undefined {
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>
    const {seq, mac} = parsed
    const tag = parsed[field]
    if (!Number.isSafeInteger(seq) || typeof mac !== 'string' || typeof tag !== 'string') return undefined
    const at = {seq: seq as number, mac}
    return sameHex(hmac(key, domain, `${at.seq}:${at.mac}`), tag) ? at : undefined
  } catch {
    return undefined
  }
}

/** A sealed line's place in the chain (its seq and MAC), read without the key: enough to chain on. */
export function peekRecord(line: string): ChainHead | undefined {
  const seq = /^\{"seq":(\d{1,15}),/.exec(line)?.[1]
  const mac = MAC_TAIL.exec(line)?.[1]
  return seq && mac ? {seq: Number(seq), mac} : undefined
}

/** Reads the head without the key: whether it is one at all (a writer chains only on a head whose MAC it checked). */
export function peekHead(text: string): ChainHead | undefined {
  try {
    const parsed = JSON.parse(text) as {seq?: unknown; mac?: unknown}
    return Number.isSafeInteger(parsed.seq) && typeof parsed.mac === 'string' && /^[0-9a-f]{64}$/.test(parsed.mac) ? {seq: parsed.seq as number, mac: parsed.mac} : undefined
  } catch {
    return undefined
  }
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8')
  const y = Buffer.from(b, 'utf8')
  return x.length === y.length && timingSafeEqual(x, y)
}
