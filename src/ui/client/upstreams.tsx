/** Upstreams: how each is started or reached, its state, tools and last error; `upstream test` from the page; the pin diff. */
import {useState} from 'preact/hooks'

import {get, post} from './api.js'
import {ms, when} from './format.js'
import type {PinDiff, UpstreamState, UpstreamView} from './types.js'
import {Badge, ErrorLine, Note, useData, useReady, type Tone} from './widgets.js'

const STATE_TONE: Record<string, Tone> = {ready: 'ok', failed: 'bad', testing: 'info', untested: 'muted'}

function target(u: UpstreamView): string {
  return u.transport === 'stdio' ? [u.command, ...(u.args ?? [])].join(' ') : (u.url ?? '')
}

export function Upstreams(props: {selected?: string}) {
  const list = useData((background) => get<{upstreams: UpstreamView[]}>('/api/upstreams', {background}), [], 5000)
  useReady('upstreams', list.data !== undefined)
  const selected = list.data?.upstreams.find((u) => u.name === props.selected)
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Upstreams</h1>
      <ErrorLine error={list.error} />
      {list.data && list.data.upstreams.length === 0 && <Note>No upstream MCP servers: add one with keyward upstream add NAME -- COMMAND.</Note>}
      {list.data && list.data.upstreams.length > 0 && (
        <table id="upstreams-table">
          <caption class="visually-hidden">Upstream MCP servers</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Runs</th>
              <th scope="col">State</th>
              <th scope="col">Tools</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {list.data.upstreams.map((u) => (
              <tr key={u.name} data-upstream={u.name} aria-current={u.name === props.selected ? 'true' : undefined}>
                <td>
                  <a href={`#/upstreams/${encodeURIComponent(u.name)}`}>{u.name}</a>
                </td>
                <td>
                  <code class="wrap">{target(u)}</code>
                </td>
                <td>
                  <Badge tone={STATE_TONE[u.state ?? 'untested']}>{u.state ?? 'untested'}</Badge>
                </td>
                <td>{u.items ? u.items.tools.length : '—'}</td>
                <td class="error-text">{u.error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {selected && <UpstreamDetails key={selected.name} upstream={selected} changed={() => void list.reload()} />}
    </section>
  )
}

function UpstreamDetails(props: {upstream: UpstreamView; changed: () => void}) {
  const u = props.upstream
  const [testing, setTesting] = useState(false)
  const [result, setResult] = useState<UpstreamState>()
  const [error, setError] = useState<string>()
  const test = async () => {
    setTesting(true)
    setError(undefined)
    try {
      setResult(await post<UpstreamState>(`/api/upstreams/${encodeURIComponent(u.name)}/test`))
      props.changed()
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setTesting(false)
    }
  }
  const state = result ?? u
  return (
    <section class="panel" aria-labelledby="upstream-title">
      <div class="panel-head">
        <h2 id="upstream-title">{u.name}</h2>
        <button type="button" class="primary" onClick={() => void test()} disabled={testing}>
          {testing ? 'Testing…' : 'Test now'}
        </button>
      </div>
      <dl class="details">
        <dt>{u.transport === 'stdio' ? 'command' : 'url'}</dt>
        <dd>
          <code class="wrap">{target(u)}</code>
        </dd>
        {u.env && Object.keys(u.env).length > 0 && <Entry label="environment" value={Object.entries(u.env).map(([k, v]) => `${k}=${v}`).join(' ')} />}
        {u.headers && Object.keys(u.headers).length > 0 && <Entry label="headers" value={Object.entries(u.headers).map(([k, v]) => `${k}: ${v}`).join('; ')} />}
        <Entry label="exposed as" value={u.exposedAs} />
        <Entry label="updated" value={when(u.updated)} />
      </dl>
      <ErrorLine error={error} />
      <p role="status" data-testid="upstream-test">
        <Badge tone={STATE_TONE[state.state ?? 'untested']}>{state.state ?? 'untested'}</Badge>{' '}
        {state.state === 'ready' && `ready in ${ms(state.ms)}${state.server ? ` (${state.server.name} ${state.server.version})` : ''}: ${state.items?.tools.length ?? 0} tools, ${state.items?.prompts.length ?? 0} prompts, ${state.items?.resources.length ?? 0} resources`}
        {state.state === 'failed' && <span class="error-text">{state.error}</span>}
        {state.testedAt && <span class="muted"> · tested {when(state.testedAt)}</span>}
      </p>
      {state.items && <ItemList title="Tools" names={state.items.tools} />}
      {state.items && <ItemList title="Prompts" names={state.items.prompts} />}
      {state.items && <ItemList title="Resources" names={state.items.resources} />}
      <Pins name={u.name} />
    </section>
  )
}

function Entry(props: {label: string; value: string}) {
  return (
    <>
      <dt>{props.label}</dt>
      <dd>{props.value}</dd>
    </>
  )
}

function ItemList(props: {title: string; names: string[]}) {
  if (props.names.length === 0) return null
  return (
    <>
      <h3>
        {props.title} ({props.names.length})
      </h3>
      <ul class="chips">
        {props.names.map((n) => (
          <li key={n}>
            <code>{n}</code>
          </li>
        ))}
      </ul>
    </>
  )
}

/** SEAM(pins): the diff against the pinned definitions, with an approve button, once pins exist. */
function Pins(props: {name: string}) {
  const diff = useData(() => get<PinDiff>(`/api/upstreams/${encodeURIComponent(props.name)}/pins`), [props.name])
  const [error, setError] = useState<string>()
  const approve = async () => {
    try {
      await post(`/api/upstreams/${encodeURIComponent(props.name)}/pins/approve`)
      await diff.reload()
    } catch (err) {
      setError((err as Error).message)
    }
  }
  return (
    <section aria-labelledby="pins-title" class="pins">
      <h3 id="pins-title">Pinned definitions</h3>
      <ErrorLine error={diff.error ?? error} />
      {diff.data && !diff.data.available && <Note>{diff.data.note}</Note>}
      {diff.data?.available && diff.data.changes?.length === 0 && <Note>The upstream offers exactly what was pinned.</Note>}
      {diff.data?.available && (diff.data.changes?.length ?? 0) > 0 && (
        <>
          <ul class="plain-list">
            {diff.data.changes!.map((c) => (
              <li key={c.tool}>
                <Badge tone={c.change === 'removed' ? 'bad' : 'warn'}>{c.change}</Badge> <code>{c.tool}</code>
                {c.before !== undefined && <pre class="diff before">{c.before}</pre>}
                {c.after !== undefined && <pre class="diff after">{c.after}</pre>}
              </li>
            ))}
          </ul>
          <button type="button" class="primary" onClick={() => void approve()}>
            Approve these definitions
          </button>
        </>
      )}
    </section>
  )
}
