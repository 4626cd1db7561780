/** The overview: replicas and upstreams as they are now, and the traffic charts from the audit log. */
import {KeywardError} from '../../errors/index.js'
import {latencies, series, type Metric} from '../data/audit-stats.js'
import type {Handler} from './context.js'

const RANGES: Record<string, {span: number; bucket: number}> = {
  hour: {span: 60 * 60_000, bucket: 60_000},
  day: {span: 24 * 60 * 60_000, bucket: 60_000},
}
const METRICS = new Set<Metric>(['calls', 'refusals', 'ratelimited'])

export const health: Handler = async (state) => {
  const data = await state.vault.data()
  // An upstream added or changed since it was last asked is asked again, in the background.
  void state.catalog.testUntested(data).catch(() => {})
  const [replicas, {feed}] = await Promise.all([state.replicas.replicas(data, state.vault.vaultId), state.audit()])
  const upstreams = state.catalog.list(data).map(({items, ...rest}) => ({...rest, ...(items ? {tools: items.tools.length, prompts: items.prompts.length, resources: items.resources.length} : {})}))
  return {body: {replicas, upstreams, audit: {file: feed.file, records: feed.index.size, building: feed.building, error: feed.error}}}
}

/** The window a `range` parameter names: whole minutes, ending with the current one. */
function windowOf(query: URLSearchParams): {name: string; from: number; to: number; bucket: number} {
  const name = query.get('range') ?? 'hour'
  const range = RANGES[name]
  if (!range) throw new KeywardError('INVALID_INPUT', 'range is hour or day')
  const to = Math.ceil((Date.now() + 1) / range.bucket) * range.bucket
  return {name, from: to - range.span, to, bucket: range.bucket}
}

/** The charts: counts per minute, in total, per key and per tool. */
export const stats: Handler = async (state, req) => {
  const w = windowOf(req.query)
  const metric = (req.query.get('metric') ?? 'calls') as Metric
  if (!METRICS.has(metric)) throw new KeywardError('INVALID_INPUT', 'metric is calls, refusals or ratelimited')
  const {feed} = await state.audit()
  return {body: {range: w.name, metric, building: feed.building, series: series(feed.index, {from: w.from, to: w.to, bucketMs: w.bucket, metric, top: 8})}}
}

/** Latency percentiles per tool: apart from the charts, which then do not wait for them. */
export const latency: Handler = async (state, req) => {
  const w = windowOf(req.query)
  const {feed} = await state.audit()
  return {body: {range: w.name, latencies: latencies(feed.index, w.from, w.to)}}
}
