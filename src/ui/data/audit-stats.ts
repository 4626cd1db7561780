/**
 * What the overview charts: calls, refusals and rate-limited requests per minute over a window,
 * in total, per key and per tool, and the latency percentiles of each tool. One pass over the
 * index's columns for the series, one more for the latencies.
 */
import {Category, type AuditIndex} from './audit-index.js'

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

export function series(index: AuditIndex, o: SeriesOptions): Series {
  const buckets = Math.max(1, Math.ceil((o.to - o.from) / o.bucketMs))
  const totals = {calls: new Array<number>(buckets).fill(0), refusals: new Array<number>(buckets).fill(0), ratelimited: new Array<number>(buckets).fill(0)}
  const byCategory: (number[] | undefined)[] = [undefined, totals.calls, totals.refusals, totals.ratelimited]
  const wanted = METRIC_CATEGORY[o.metric]
  const perKey = new Map<number, Uint32Array>()
  const perTool = new Map<number, Uint32Array>()
  const bump = (map: Map<number, Uint32Array>, id: number, b: number) => {
    let values = map.get(id)
    if (!values) map.set(id, (values = new Uint32Array(buckets)))
    values[b]++
  }
  const {ts, event, who, subject} = index
  const categories = index.categories
  for (let i = 0; i < index.size; i++) {
    const t = ts[i]
    if (t < o.from || t >= o.to) continue
    const category = categories[event[i]]
    if (category === Category.Other) continue
    const b = Math.floor((t - o.from) / o.bucketMs)
    byCategory[category]![b]++
    if (category !== wanted) continue
    bump(perKey, who[i], b)
    bump(perTool, subject[i], b)
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

function topGroups(map: Map<number, Uint32Array>, top: number, label: (id: number) => [string, string]): Group[] {
  const all = [...map].map(([id, values]) => ({id, values, total: values.reduce((x, y) => x + y, 0)})).sort((a, b) => b.total - a.total)
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
  const categories = index.categories
  const inWindow = (i: number) => ts[i] >= from && ts[i] < to && categories[event[i]] === Category.Call && !Number.isNaN(duration[i])
  const counts = new Map<number, number>()
  for (let i = 0; i < index.size; i++) if (inWindow(i)) counts.set(subject[i], (counts.get(subject[i]) ?? 0) + 1)
  const samples = new Map<number, {values: Float32Array; n: number}>()
  for (const [id, n] of counts) samples.set(id, {values: new Float32Array(n), n: 0})
  for (let i = 0; i < index.size; i++) {
    if (!inWindow(i)) continue
    const s = samples.get(subject[i])!
    s.values[s.n++] = duration[i]
  }
  const out: Latency[] = []
  for (const [id, {values}] of samples) {
    values.sort()
    const at = (q: number) => Math.round(values[Math.min(values.length - 1, Math.ceil(q * values.length) - 1)] * 10) / 10
    const tool = index.subjects.values[id] || '(none)'
    const split = tool.indexOf('__')
    out.push({tool, upstream: split > 0 ? tool.slice(0, split) : 'built-in', calls: values.length, p50: at(0.5), p95: at(0.95), p99: at(0.99)})
  }
  return out.sort((a, b) => b.p95 - a.p95)
}
