/** Overview: the replicas and upstreams now, and the traffic of the last hour or day from the audit log. */
import {useMemo, useState} from 'preact/hooks'

import {get, qs} from './api.js'
import {Chart, type Line} from './chart.js'
import {count, ms, shown, when} from './format.js'
import type {Group, Health, Latencies as LatencyAnswer, Metric, Stats} from './types.js'
import {Badge, ErrorLine, Note, useData, useReady, type Tone} from './widgets.js'

const METRICS: Record<Metric, string> = {calls: 'calls', refusals: 'refusals', ratelimited: 'rate-limited'}

export function Overview(props: {range?: string}) {
  const [range, setRange] = useState<'hour' | 'day'>(props.range === 'day' ? 'day' : 'hour')
  const [metric, setMetric] = useState<Metric>('calls')
  const health = useData((background) => get<Health>('/api/health', {background}), [], 5000)
  const stats = useData((background) => get<Stats>(`/api/stats${qs({range, metric})}`, {background}), [range, metric], 10_000)
  useReady('overview', health.data !== undefined && stats.data !== undefined)
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Overview</h1>
      <div class="grid two">
        <Replicas health={health.data} error={health.error} />
        <Upstreams health={health.data} />
      </div>
      <section aria-labelledby="traffic-title" class="panel">
        <div class="panel-head">
          <h2 id="traffic-title">Traffic</h2>
          <div class="controls">
            <label>
              Range{' '}
              <select value={range} onChange={(e) => setRange((e.target as HTMLSelectElement).value as 'hour' | 'day')}>
                <option value="hour">Last hour</option>
                <option value="day">Last day</option>
              </select>
            </label>
            <label>
              Per key and tool{' '}
              <select value={metric} onChange={(e) => setMetric((e.target as HTMLSelectElement).value as Metric)}>
                {Object.entries(METRICS).map(([value, label]) => (
                  <option value={value}>{label}</option>
                ))}
              </select>
            </label>
          </div>
        </div>
        <ErrorLine error={stats.error} />
        {stats.data ? <Traffic stats={stats.data} /> : <Note>Reading the audit log…</Note>}
      </section>
      {/* Asked once the charts have their data: the server computes one answer at a time. */}
      {stats.data && <Latencies range={range} />}
    </section>
  )
}

function healthTone(status: string): Tone {
  return status === 'ok' ? 'ok' : status === 'down' ? 'bad' : 'warn'
}

function Replicas(props: {health?: Health; error?: string}) {
  const local = props.health?.replicas.local ?? []
  const redis = props.health?.replicas.redis
  return (
    <section class="panel" aria-labelledby="replicas-title">
      <h2 id="replicas-title">Replicas</h2>
      <ErrorLine error={props.error} />
      {props.health && local.length === 0 && <Note>No keyward serve of this vault runs on this machine.</Note>}
      {local.length > 0 && (
        <table>
          <caption class="visually-hidden">keyward serve on this machine</caption>
          <thead>
            <tr>
              <th scope="col">Server</th>
              <th scope="col">Health</th>
              <th scope="col">Started</th>
            </tr>
          </thead>
          <tbody>
            {local.map((r) => (
              <tr key={r.pid}>
                <td>
                  <code>{r.url}</code> <span class="muted">pid {r.pid}</span>
                </td>
                <td>
                  <Badge tone={healthTone(r.status)}>{r.status}</Badge> {r.ms !== undefined && <span class="muted">{ms(r.ms)}</span>}
                  {r.redis && <span class="muted"> · redis {r.redis}</span>}
                </td>
                <td>{when(r.startedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {redis && <RedisReplicas redis={redis} />}
    </section>
  )
}

function RedisReplicas(props: {redis: NonNullable<Health['replicas']['redis']>}) {
  const {redis} = props
  if (!redis.reachable) return <p class="error">Redis {redis.target} cannot be reached.</p>
  return (
    <>
      <h3>On Redis {redis.target}</h3>
      {redis.replicas.length === 0 ? (
        <Note>No live heartbeats.</Note>
      ) : (
        <ul class="plain-list">
          {redis.replicas.map((r) => (
            <li key={`${r.host}:${r.pid}`}>
              <code>{r.url ?? `${r.host}:${r.pid}`}</code> generation {r.generation}, up {r.uptimeSeconds}s, redis <Badge tone={r.redis === 'ok' ? 'ok' : 'warn'}>{r.redis}</Badge>
            </li>
          ))}
        </ul>
      )}
    </>
  )
}

const STATE_TONE: Record<string, Tone> = {ready: 'ok', failed: 'bad', testing: 'info', untested: 'muted'}

function Upstreams(props: {health?: Health}) {
  const upstreams = props.health?.upstreams ?? []
  return (
    <section class="panel" aria-labelledby="upstreams-title">
      <h2 id="upstreams-title">Upstreams</h2>
      {props.health && upstreams.length === 0 && <Note>No upstream MCP servers (keyward upstream add).</Note>}
      {upstreams.length > 0 && (
        <table>
          <caption class="visually-hidden">Upstream MCP servers</caption>
          <thead>
            <tr>
              <th scope="col">Upstream</th>
              <th scope="col">State</th>
              <th scope="col">Tools</th>
            </tr>
          </thead>
          <tbody>
            {upstreams.map((u) => (
              <tr key={u.name}>
                <td>
                  <a href={`#/upstreams/${encodeURIComponent(u.name)}`}>{u.name}</a>
                </td>
                <td>
                  <Badge tone={STATE_TONE[u.state]}>{u.state}</Badge>
                  {u.error && <span class="error-text"> {shown(u.error)}</span>}
                </td>
                <td>{u.tools ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.health && (
        <p class="muted small">
          Audit log <code>{props.health.audit.file}</code>: {count(props.health.audit.records)} records{props.health.audit.building ? ' read so far' : ''}
          {props.health.audit.error ? ` (${props.health.audit.error})` : ''}
        </p>
      )}
    </section>
  )
}

function groupLines(groups: Group[]): Line[] {
  return groups.map((g) => ({label: shown(g.label), values: g.values}))
}

function Traffic(props: {stats: Stats}) {
  const {series, range, metric} = props.stats
  const span = range === 'hour' ? 'the last hour' : 'the last day'
  const totals = useMemo<Line[]>(
    () => [
      {label: 'calls', values: series.totals.calls, color: '#2563eb'},
      {label: 'refusals', values: series.totals.refusals, color: '#dc2626'},
      {label: 'rate-limited', values: series.totals.ratelimited, color: '#d97706'},
    ],
    [series],
  )
  const byKey = useMemo(() => groupLines(series.byKey), [series])
  const byTool = useMemo(() => groupLines(series.byTool), [series])
  const describe = (groups: Group[]) => groups.map((g) => `${shown(g.label)}: ${count(g.total)}`).join(', ') || `no ${METRICS[metric]}`
  return (
    <>
      <p class="totals" data-testid="traffic-totals">
        In {span}: <strong data-testid="total-calls">{count(series.sums.calls)}</strong> calls, <strong data-testid="total-refusals">{count(series.sums.refusals)}</strong> refusals,{' '}
        <strong data-testid="total-ratelimited">{count(series.sums.ratelimited)}</strong> rate-limited.
      </p>
      <div class="grid three">
        <Chart id="chart-totals" title="Requests per minute" times={series.times} lines={totals} summary={`Per minute over ${span}.`} />
        <Chart id="chart-keys" title={`${METRICS[metric]} per minute, per key`} times={series.times} lines={byKey} summary={describe(series.byKey)} />
        <Chart id="chart-tools" title={`${METRICS[metric]} per minute, per tool`} times={series.times} lines={byTool} summary={describe(series.byTool)} />
      </div>
    </>
  )
}

function Latencies(props: {range: 'hour' | 'day'}) {
  const answer = useData((background) => get<LatencyAnswer>(`/api/latencies${qs({range: props.range})}`, {background}), [props.range], 10_000)
  const rows = answer.data?.latencies ?? []
  return (
    <section class="panel" aria-labelledby="latency-title">
      <h2 id="latency-title">Latency per tool</h2>
      <ErrorLine error={answer.error} />
      {!answer.data ? (
        <Note>Reading the audit log…</Note>
      ) : rows.length === 0 ? (
        <Note>No calls in this range.</Note>
      ) : (
        <table class="numbers">
          <caption class="visually-hidden">Call durations per tool, in milliseconds</caption>
          <thead>
            <tr>
              <th scope="col">Tool</th>
              <th scope="col">Upstream</th>
              <th scope="col">Calls</th>
              <th scope="col">p50</th>
              <th scope="col">p95</th>
              <th scope="col">p99</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.tool}>
                <td>
                  <code>{shown(r.tool)}</code>
                </td>
                <td>{r.upstream}</td>
                <td>{count(r.calls)}</td>
                <td>{ms(r.p50)}</td>
                <td>{ms(r.p95)}</td>
                <td>{ms(r.p99)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
