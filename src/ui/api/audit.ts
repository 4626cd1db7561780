/**
 * The audit view: pages of the in-memory index, filtered on the server; one record whole, read
 * from the log by sequence number; the live tail over SSE; and the `audit verify` verdict.
 */
import {recordAt} from '../../audit/scan.js'
import {KeywardError} from '../../errors/index.js'
import {keysOf} from '../../keys/index.js'
import type {AuditFilter} from '../data/audit-index.js'
import {SECURITY_HEADERS} from '../http/respond.js'
import type {Handler} from './context.js'

const PAGE = 50
const MAX_PAGE = 500
/** A live tail sends at most this many rows of one batch (the newest). */
const MAX_BATCH = 200
const PING_MS = 15_000

function time(value: string | null, name: string): number | undefined {
  if (!value) return undefined
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value)
  if (!Number.isFinite(ms)) throw new KeywardError('INVALID_INPUT', `${name} is not a time (ISO 8601 or ms since the epoch)`)
  return ms
}

export function filterOf(query: URLSearchParams): AuditFilter {
  const text = (name: string) => query.get(name)?.slice(0, 200) || undefined
  return {key: text('key'), event: text('event'), tool: text('tool'), outcome: text('outcome'), from: time(query.get('from'), 'from'), to: time(query.get('to'), 'to')}
}

function count(value: string | null, fallback: number, max: number): number {
  const n = value === null ? fallback : Number(value)
  if (!Number.isSafeInteger(n) || n < 0) throw new KeywardError('INVALID_INPUT', 'before and limit are whole numbers')
  return Math.min(n, max)
}

export const query: Handler = async (state, req) => {
  const {feed} = await state.audit()
  const started = performance.now()
  const page = feed.index.query(filterOf(req.query), count(req.query.get('limit'), PAGE, MAX_PAGE), count(req.query.get('before'), feed.index.size, Number.MAX_SAFE_INTEGER))
  return {body: {...page, indexed: feed.index.size, building: feed.building, ms: Math.round((performance.now() - started) * 10) / 10}}
}

export const facets: Handler = async (state) => {
  const [{feed}, data] = await Promise.all([state.audit(), state.vault.data()])
  const {index} = feed
  const keys = [...keysOf(data).values()].map((k) => ({id: `key:${k.id}`, label: `${k.name} (${k.id})`}))
  const known = new Set(keys.map((k) => k.id))
  const seen = index.callers.values.filter((c) => c && !known.has(c)).slice(0, 200).map((c) => ({id: c, label: c}))
  const nonEmpty = (values: string[]) => values.filter(Boolean).sort()
  return {body: {keys: [...keys, ...seen], events: nonEmpty(index.events.values), tools: nonEmpty(index.subjects.values).slice(0, 1000), outcomes: nonEmpty(index.outcomes.values)}}
}

export const record: Handler = async (state, req) => {
  const seq = Number(req.params.seq)
  const {feed} = await state.audit()
  const found = Number.isSafeInteger(seq) ? await recordAt(feed.file, seq) : undefined
  if (!found) throw new KeywardError('NOT_FOUND', `no audit record ${req.params.seq.slice(0, 20)}`)
  return {body: {record: found}}
}

export const verifyState: Handler = async (state) => ({body: (await state.audit()).verifier.state})

export const verifyNow: Handler = async (state) => ({body: await (await state.audit()).verifier.run()})

/** New records as they are written, matching the filter, as server-sent events. */
export const stream: Handler = async (state, req) => {
  const {feed} = await state.audit()
  const filter = filterOf(req.query)
  const {res} = req
  res.writeHead(200, {...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no'})
  res.write(': tail\n\n')
  const stop = feed.onRows((from, to) => {
    // The dictionaries may have grown (a new tool): the filter is built again for each batch.
    const match = feed.index.matcher(filter)
    const rows = []
    for (let i = to - 1; i >= from && rows.length < MAX_BATCH; i--) if (match(i)) rows.push(feed.index.row(i))
    for (const row of rows.reverse()) res.write(`data: ${JSON.stringify(row)}\n\n`)
  })
  await new Promise<void>((resolve) => {
    const ping = setInterval(() => {
      if (!req.sessionAlive()) {
        res.write('event: expired\ndata: {}\n\n')
        res.end()
      } else res.write(': ping\n\n')
    }, Math.min(PING_MS, state.idleMs))
    const end = () => {
      clearInterval(ping)
      stop()
      resolve()
    }
    if (req.signal.aborted) end()
    req.signal.addEventListener('abort', end, {once: true})
    res.once('close', end)
  })
  return undefined
}

