/** Keys: list, filter and show; generate, re-scope (with a preview), rotate and revoke. */
import {useMemo, useState} from 'preact/hooks'

import {get} from './api.js'
import {when} from './format.js'
import {GenerateDialog, RevokeDialog, RotateDialog, ScopesDialog, ShownOnce} from './key-dialogs.js'
import type {IssuedKey, KeyView} from './types.js'
import {Badge, Dialog, ErrorLine, Note, useData, useReady, type Tone} from './widgets.js'

const STATUS_TONE: Record<KeyView['status'], Tone> = {active: 'ok', revoked: 'bad', expired: 'warn', not_yet_valid: 'info'}

type Action = {kind: 'show' | 'scopes' | 'rotate' | 'revoke'; key: KeyView} | {kind: 'generate'} | {kind: 'issued'; issued: IssuedKey; rotated: boolean}

export function Keys() {
  const keys = useData((background) => get<{keys: KeyView[]}>('/api/keys', {background}), [], 15_000)
  const [filter, setFilter] = useState('')
  const [status, setStatus] = useState('')
  const [action, setAction] = useState<Action>()
  const shown = useMemo(() => {
    const text = filter.trim().toLowerCase()
    return (keys.data?.keys ?? []).filter((k) => (!status || k.status === status) && (!text || [k.name, k.id, k.description ?? '', ...k.scopes].some((f) => f.toLowerCase().includes(text))))
  }, [keys.data, filter, status])
  useReady('keys', keys.data !== undefined)
  const done = (next?: Action) => {
    setAction(next)
    void keys.reload()
  }
  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <h1 id="page-title">Keys</h1>
        <button type="button" class="primary" onClick={() => setAction({kind: 'generate'})}>
          Generate key
        </button>
      </div>
      <div class="toolbar" role="search">
        <label>
          Filter <input type="search" value={filter} placeholder="name, id or scope" onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Status{' '}
          <select value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            <option value="active">active</option>
            <option value="revoked">revoked</option>
            <option value="expired">expired</option>
            <option value="not_yet_valid">not yet valid</option>
          </select>
        </label>
      </div>
      <ErrorLine error={keys.error} />
      {keys.data && shown.length === 0 && <Note>No key matches.</Note>}
      {shown.length > 0 && <KeyTable keys={shown} act={setAction} />}
      {action && <ActionDialog action={action} done={done} />}
    </section>
  )
}

function KeyTable(props: {keys: KeyView[]; act: (a: Action) => void}) {
  return (
    <table id="keys-table">
      <caption class="visually-hidden">API keys</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Start</th>
          <th scope="col">Scopes</th>
          <th scope="col">Status</th>
          <th scope="col">Created</th>
          <th scope="col">Expires</th>
          <th scope="col">
            <span class="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {props.keys.map((k) => (
          <tr key={k.id} data-key={k.name}>
            <td>
              <button type="button" class="link" onClick={() => props.act({kind: 'show', key: k})}>
                {k.name}
              </button>
              <div class="muted small">{k.id}</div>
            </td>
            <td>
              <code>{k.start}…</code>
            </td>
            <td class="scopes">{k.scopes.join(' ')}</td>
            <td>
              <Badge tone={STATUS_TONE[k.status]}>{k.status.replace(/_/g, ' ')}</Badge>
            </td>
            <td>{when(k.created)}</td>
            <td>{k.expires ? when(k.expires) : 'never'}</td>
            <td class="actions">
              {k.status !== 'revoked' && (
                <>
                  <button type="button" onClick={() => props.act({kind: 'scopes', key: k})} aria-label={`Edit scopes of ${k.name}`}>
                    Scopes
                  </button>
                  <button type="button" onClick={() => props.act({kind: 'rotate', key: k})} aria-label={`Rotate ${k.name}`} disabled={k.status === 'expired'}>
                    Rotate
                  </button>
                  <button type="button" class="danger" onClick={() => props.act({kind: 'revoke', key: k})} aria-label={`Revoke ${k.name}`}>
                    Revoke
                  </button>
                </>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function ActionDialog(props: {action: Action; done: (next?: Action) => void}) {
  const {action, done} = props
  const issued = (i: IssuedKey, rotated: boolean) => done({kind: 'issued', issued: i, rotated})
  // Keyed by kind: each dialog is a new element, never one reused from the dialog before it.
  switch (action.kind) {
    case 'show':
      return <KeyDetails key="show" view={action.key} onClose={() => done()} />
    case 'generate':
      return <GenerateDialog key="generate" onClose={() => done()} onIssued={(i) => issued(i, false)} />
    case 'scopes':
      return <ScopesDialog key="scopes" view={action.key} onClose={() => done()} />
    case 'rotate':
      return <RotateDialog key="rotate" view={action.key} onClose={() => done()} onIssued={(i) => issued(i, true)} />
    case 'revoke':
      return <RevokeDialog key="revoke" view={action.key} onClose={() => done()} />
    case 'issued':
      return <ShownOnce key="issued" issued={action.issued} rotated={action.rotated} onClose={() => done()} />
  }
}

function KeyDetails(props: {view: KeyView; onClose: () => void}) {
  const v = props.view
  const rows: [string, string | undefined][] = [
    ['id', v.id],
    ['description', v.description],
    ['start', `${v.start}…${v.legacy ? ' (imported; rotate it for a keyward-format key)' : ''}`],
    ['status', v.status.replace(/_/g, ' ')],
    ['scopes', v.scopes.join(' ')],
    ['created', when(v.created)],
    ['not before', v.notBefore && when(v.notBefore)],
    ['expires', v.expires ? when(v.expires) : 'never'],
    ['revoked', v.revoked && `${when(v.revoked.at)}${v.revoked.reason ? ` (${v.revoked.reason})` : ''}`],
    ['rate limit', v.rateLimit && `${v.rateLimit.limit} per ${v.rateLimit.windowSeconds}s`],
    ['meta', v.meta && Object.entries(v.meta).map(([k, val]) => `${k}=${val}`).join(' ')],
    ['old secrets', v.graceSecrets?.map((s) => `${s.start}… valid until ${when(s.validUntil)}`).join('; ')],
  ]
  return (
    <Dialog title={`Key ${v.name}`} onClose={props.onClose}>
      <dl class="details">
        {rows
          .filter(([, value]) => value)
          .map(([label, value]) => (
            <>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </>
          ))}
      </dl>
    </Dialog>
  )
}
