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

export const stats: Handler = async (state, req) => {
  const range = RANGES[req.query.get('range') ?? 'hour']
  const metric = (req.query.get('metric') ?? 'calls') as Metric
  if (!range) throw new KeywardError('INVALID_INPUT', 'range is hour or day')
  if (!METRICS.has(metric)) throw new KeywardError('INVALID_INPUT', 'metric is calls, refusals or ratelimited')
  const {feed} = await state.audit()
  // Whole minutes, ending with the current one.
  const to = Math.ceil((Date.now() + 1) / range.bucket) * range.bucket
  const from = to - range.span
  return {
    body: {
      range: req.query.get('range') ?? 'hour',
      metric,
      building: feed.building,
      series: series(feed.index, {from, to, bucketMs: range.bucket, metric, top: 8}),
      latencies: latencies(feed.index, from, to),
    },
  }
}
