/** Upstreams: how each is started or reached, its state, tools and last error; `upstream test` from the page; the pin diff. */
import {useState} from 'preact/hooks'

import {get, post} from './api.js'
import {ms, shown, when} from './format.js'
import type {PinView, UpstreamState, UpstreamView} from './types.js'
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
                <td class="error-text">{shown(u.error ?? '')}</td>
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
        {u.oauth && <Entry label="OAuth sign-in" value={oauthLine(u.oauth)} />}
        <Entry label="exposed as" value={u.exposedAs} />
        <Entry label="updated" value={when(u.updated)} />
      </dl>
      <ErrorLine error={error} />
      <p role="status" data-testid="upstream-test">
        <Badge tone={STATE_TONE[state.state ?? 'untested']}>{state.state ?? 'untested'}</Badge>{' '}
        {state.state === 'ready' && `ready in ${ms(state.ms)}${state.server ? ` (${shown(`${state.server.name} ${state.server.version}`)})` : ''}: ${state.items?.tools.length ?? 0} tools, ${state.items?.prompts.length ?? 0} prompts, ${state.items?.resources.length ?? 0} resources`}
        {state.state === 'failed' && <span class="error-text">{shown(state.error ?? '')}</span>}
        {state.testedAt && <span class="muted"> · tested {when(state.testedAt)}</span>}
      </p>
      {state.items && <ItemList title="Tools" names={state.items.tools} />}
      {state.items && <ItemList title="Prompts" names={state.items.prompts} />}
      {state.items && <ItemList title="Resources" names={state.items.resources} />}
      <Pins name={u.name} tested={state.testedAt} />
    </section>
  )
}

/** Where an OAuth upstream's sign-in stands; signing in is `keyward upstream login`, in a terminal. */
function oauthLine(o: NonNullable<UpstreamView['oauth']>): string {
  if (o.needsLogin) return `needs login${o.needsLoginReason ? `: ${o.needsLoginReason}` : ''} (keyward upstream login)`
  if (!o.signedIn) return o.needsLoginReason ?? 'not signed in'
  return `${o.grant}, signed in${o.signedInAs ? ` as ${o.signedInAs}` : ''}`
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
            <code>{shown(n)}</code>
          </li>
        ))}
      </ul>
    </>
  )
}

/** The changes `upstream diff` shows (held back from clients until approved), field by field, and their approval. */
function Pins(props: {name: string; tested?: string}) {
  const view = useData(() => get<PinView>(`/api/upstreams/${encodeURIComponent(props.name)}/pins`), [props.name, props.tested])
  const [error, setError] = useState<string>()
  const [confirming, setConfirming] = useState(false)
  const [done, setDone] = useState<string>()
  const approve = async () => {
    setError(undefined)
    try {
      const r = await post<{approved: number; dropped: number}>(`/api/upstreams/${encodeURIComponent(props.name)}/pins/approve`, {token: view.data!.token})
      setDone(`Approved ${r.approved} definition(s)${r.dropped > 0 ? `, forgot ${r.dropped} no longer offered` : ''}; a running keyward serve serves them within a second.`)
      setConfirming(false)
      await view.reload()
    } catch (err) {
      setError((err as Error).message)
    }
  }
  const changes = view.data?.changes ?? []
  return (
    <section aria-labelledby="pins-title" class="pins" data-testid="pins">
      <h3 id="pins-title">Pinned definitions</h3>
      <ErrorLine error={view.error ?? error} />
      {done && <Note>{done}</Note>}
      {view.data && changes.length === 0 && <Note>{view.data.pinned > 0 ? `${view.data.pinned} definitions pinned; nothing awaits approval.` : 'Nothing pinned yet: the first look at the upstream pins what it offers.'}</Note>}
      {changes.length > 0 && (
        <>
          <p>
            {changes.length} change(s) held back from clients until approved ({view.data!.pinned} definitions pinned):
          </p>
          <ul class="plain-list">
            {changes.map((c) => (
              <li key={`${c.kind}:${c.name}`}>
                <Badge tone={c.change === 'removed' ? 'bad' : 'warn'}>{c.change}</Badge> {c.kind} <code>{c.name}</code>
                {c.renamedFrom && <span class="muted"> (renamed from {c.renamedFrom})</span>}
                {c.fields.map((f) => (
                  <div class="field-change" key={f.path}>
                    <code>{f.path}</code>
                    {f.before !== undefined && <pre class="diff before">- {f.before}</pre>}
                    {f.after !== undefined && <pre class="diff after">+ {f.after}</pre>}
                  </div>
                ))}
              </li>
            ))}
          </ul>
          {view.data!.findings.length > 0 && (
            <p class="warning">
              The scanner found {view.data!.findings.length} thing(s) addressed to the model: {view.data!.findings.map((f) => `${f.item} ${f.field} (${f.rule})`).join('; ')}
            </p>
          )}
          {confirming ? (
            <div class="buttons">
              <button type="button" onClick={() => setConfirming(false)}>
                Cancel
              </button>
              <button type="button" class="danger" onClick={() => void approve()}>
                Approve {changes.length} change(s): clients will see them
              </button>
            </div>
          ) : (
            <button type="button" class="primary" onClick={() => setConfirming(true)}>
              Approve these definitions
            </button>
          )}
        </>
      )}
    </section>
  )
}
