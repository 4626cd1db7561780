/**
 * What the overview charts: calls, refusals and rate-limited requests per minute over a window,
 * in total, per key and per tool (summed from the index's per-minute counts), and the latency
 * percentiles of each tool (one pass over the columns, within the blocks of rows the window
 * touches; percentiles are selected, not sorted for).
 */
import {Category, type AuditIndex} from './audit-index.js'
import {decode} from './minute-counts.js'

export type Metric = 'calls' | 'refusals' | 'ratelimited'

const METRIC_CATEGORY: Record<Metric, Category> = {calls: Category.Call, refusals: Category.Refusal, ratelimited: Category.RateLimited}

export interface SeriesOptions {
  from: number
  to: number
  bucketMs: number
  /** What the per-key and per-tool series count. */
  metric: Metric
  /** Series kept per grouping; the rest are summed as "other". */
  top: number
}

export interface Group {
  id: string
  label: string
  total: number
  values: number[]
}

export interface Series {
  /** Bucket starts, in seconds since the epoch (what uPlot takes). */
  times: number[]
  totals: Record<Metric, number[]>
  sums: Record<Metric, number>
  byKey: Group[]
  byTool: Group[]
}

/** From the index's per-minute counts: `from`, `to` and `bucketMs` are whole minutes. */
export function series(index: AuditIndex, o: SeriesOptions): Series {
  const buckets = Math.max(1, Math.ceil((o.to - o.from) / o.bucketMs))
  const totals = {calls: new Array<number>(buckets).fill(0), refusals: new Array<number>(buckets).fill(0), ratelimited: new Array<number>(buckets).fill(0)}
  const wanted = METRIC_CATEGORY[o.metric]
  const perKey: (Uint32Array | undefined)[] = new Array(index.callers.values.length)
  const perTool: (Uint32Array | undefined)[] = new Array(index.subjects.values.length)
  for (const [start, counts] of index.minutes.between(o.from, o.to)) {
    const b = Math.floor((start - o.from) / o.bucketMs)
    totals.calls[b] += counts.totals[Category.Call]
    totals.refusals[b] += counts.totals[Category.Refusal]
    totals.ratelimited[b] += counts.totals[Category.RateLimited]
    for (const [c, n] of counts.groups) {
      const {kind, id, category} = decode(c)
      if (category !== wanted) continue
      const groups = kind === 0 ? perKey : perTool
      ;(groups[id] ??= new Uint32Array(buckets))[b] += n
    }
  }
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0)
  return {
    times: Array.from({length: buckets}, (_, b) => (o.from + b * o.bucketMs) / 1000),
    totals,
    sums: {calls: sum(totals.calls), refusals: sum(totals.refusals), ratelimited: sum(totals.ratelimited)},
    byKey: topGroups(perKey, o.top, (id) => [index.callers.values[id] || '(none)', index.callerNames[id] || index.callers.values[id] || '(unknown caller)']),
    byTool: topGroups(perTool, o.top, (id) => [index.subjects.values[id] || '(none)', index.subjects.values[id] || '(no tool)']),
  }
}

function topGroups(counts: (Uint32Array | undefined)[], top: number, label: (id: number) => [string, string]): Group[] {
  const all: {id: number; values: Uint32Array; total: number}[] = []
  counts.forEach((values, id) => values && all.push({id, values, total: values.reduce((x, y) => x + y, 0)}))
  all.sort((a, b) => b.total - a.total)
  const kept: Group[] = all.slice(0, top).map((g) => {
    const [id, text] = label(g.id)
    return {id, label: text, total: g.total, values: Array.from(g.values)}
  })
  const rest = all.slice(top)
  if (rest.length > 0) {
    const values = new Array<number>(rest[0].values.length).fill(0)
    for (const g of rest) g.values.forEach((v, b) => (values[b] += v))
    kept.push({id: '', label: `${rest.length} other${rest.length === 1 ? '' : 's'}`, total: rest.reduce((x, g) => x + g.total, 0), values})
  }
  return kept
}

export interface Latency {
  tool: string
  /** The upstream that serves the tool (`NAME__tool`), or "built-in". */
  upstream: string
  calls: number
  p50: number
  p95: number
  p99: number
}

/** Percentiles of the calls' durations per tool in [from, to), slowest p95 first. */
export function latencies(index: AuditIndex, from: number, to: number): Latency[] {
  const {ts, event, subject, duration} = index
  const isCall = index.categories.map((c) => c === Category.Call)
  const [start, end] = index.rowsBetween(from, to)
  const counts = new Uint32Array(index.subjects.values.length)
  // A NaN duration (none recorded) is the one value not equal to itself.
  const counted = (i: number) => ts[i] >= from && ts[i] < to && isCall[event[i]] && duration[i] === duration[i]
  for (let i = start; i < end; i++) if (counted(i)) counts[subject[i]]++
  const samples: (Float32Array | undefined)[] = Array.from(counts, (n) => (n > 0 ? new Float32Array(n) : undefined))
  const filled = new Uint32Array(counts.length)
  for (let i = start; i < end; i++) if (counted(i)) samples[subject[i]]![filled[subject[i]]++] = duration[i]
  const out: Latency[] = []
  samples.forEach((values, id) => {
    if (!values) return
    const rank = (q: number) => Math.min(values.length - 1, Math.ceil(q * values.length) - 1)
    // Each selection leaves everything below its rank before it, so the next one looks only there.
    const p99 = select(values, rank(0.99), values.length)
    const p95 = select(values, rank(0.95), rank(0.99) + 1)
    const p50 = select(values, rank(0.5), rank(0.95) + 1)
    const tool = index.subjects.values[id] || '(none)'
    const split = tool.indexOf('__')
    const round = (x: number) => Math.round(x * 10) / 10
    out.push({tool, upstream: split > 0 ? tool.slice(0, split) : 'built-in', calls: values.length, p50: round(p50), p95: round(p95), p99: round(p99)})
  })
  return out.sort((a, b) => b.p95 - a.p95)
}

/**
 * The k-th smallest of values[0..end) (Hoare's selection, median-of-three pivots), moving smaller
 * values before position k and larger ones after it.
 */
export function select(values: Float32Array, k: number, end: number): number {
  let lo = 0
  let hi = end - 1
  while (hi > lo) {
    const mid = (lo + hi) >>> 1
    const pivot = median3(values[lo], values[mid], values[hi])
    let i = lo
    let j = hi
    while (i <= j) {
      while (values[i] < pivot) i++
      while (values[j] > pivot) j--
      if (i <= j) {
        const t = values[i]
        values[i++] = values[j]
        values[j--] = t
      }
    }
    if (k <= j) hi = j
    else if (k >= i) lo = i
    else break
  }
  return values[k]
}

function median3(a: number, b: number, c: number): number {
  return a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b
}
