/** The dialogs that change a key, and the one that shows a new key once. */
import {useEffect, useRef, useState} from 'preact/hooks'

import {post} from './api.js'
import {scopeList, shown} from './format.js'
import type {IssuedKey, KeyView, Preview} from './types.js'
import {Dialog, ErrorLine, Note} from './widgets.js'

/** Runs a change; keeps its error for the form to show. */
function useSubmit(): [boolean, string | undefined, (work: () => Promise<void>) => Promise<void>] {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()
  const run = async (work: () => Promise<void>) => {
    setBusy(true)
    setError(undefined)
    try {
      await work()
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return [busy, error, run]
}

const inputValue = (e: Event) => (e.target as HTMLInputElement).value

/** Which tools, prompts and resources the scopes being typed would allow, asked of the server as they change. */
export function ScopePreview(props: {scopes: string}) {
  const [preview, setPreview] = useState<Preview>()
  const [error, setError] = useState<string>()
  useEffect(() => {
    const list = scopeList(props.scopes)
    if (list.length === 0) return setPreview(undefined)
    const timer = setTimeout(() => {
      post<Preview>('/api/scopes/preview', {scopes: list}).then(setPreview, (err: Error) => setError(err.message))
    }, 250)
    return () => clearTimeout(timer)
  }, [props.scopes])
  if (error) return <ErrorLine error={error} />
  if (!preview) return <Note>Type scopes to see what they allow.</Note>
  if (preview.error) return <p class="error">{preview.error}</p>
  const group = (title: string, items: Preview['tools']) =>
    items.length > 0 && (
      <div>
        <h3>
          {title} ({items.filter((i) => i.allowed).length} of {items.length} allowed)
        </h3>
        <ul class="preview-list">
          {items.map((i) => (
            <li key={i.name} class={i.allowed ? 'allowed' : 'denied'}>
              <span aria-hidden="true">{i.allowed ? '✓' : '✗'}</span> <code>{shown(i.name)}</code>
              <span class="visually-hidden">{i.allowed ? 'allowed' : 'not allowed'}</span>
            </li>
          ))}
        </ul>
      </div>
    )
  return (
    <section class="preview" aria-label="What these scopes allow" aria-live="polite" data-testid="scope-preview">
      {group('Tools', preview.tools)}
      {group('Prompts', preview.prompts)}
      {group('Resources', preview.resources)}
      {preview.untested.length > 0 && <Note>Not known yet (not tested, or failed): {preview.untested.map(shown).join(', ')}.</Note>}
    </section>
  )
}

export function GenerateDialog(props: {onClose: () => void; onIssued: (issued: IssuedKey) => void}) {
  const [form, setForm] = useState({name: '', scopes: '', expires: '', description: '', rate: ''})
  const [busy, error, submit] = useSubmit()
  const field = (name: keyof typeof form) => ({value: form[name], onInput: (e: Event) => setForm({...form, [name]: inputValue(e)})})
  const onSubmit = (e: Event) => {
    e.preventDefault()
    void submit(async () => props.onIssued(await post<IssuedKey>('/api/keys', {...form, scopes: scopeList(form.scopes)})))
  }
  return (
    <Dialog title="Generate a key" onClose={props.onClose} wide>
      <form onSubmit={onSubmit} class="form">
        <label>
          Name <input name="name" required {...field('name')} autoComplete="off" />
        </label>
        <label>
          Scopes <input name="scopes" required {...field('scopes')} placeholder="readonly, github__get_*, prompt:*" autoComplete="off" />
        </label>
        <label>
          Expires <input name="expires" {...field('expires')} placeholder="30d, 12h or 2027-01-31 (empty: never)" />
        </label>
        <label>
          Rate limit <input name="rate" {...field('rate')} placeholder="1000/min (empty: the server's default)" />
        </label>
        <label>
          Description <input name="description" {...field('description')} />
        </label>
        <ScopePreview scopes={form.scopes} />
        <ErrorLine error={error} />
        <div class="buttons">
          <button type="submit" class="primary" disabled={busy}>
            Generate
          </button>
        </div>
      </form>
    </Dialog>
  )
}

export function ScopesDialog(props: {view: KeyView; onClose: () => void}) {
  const [scopes, setScopes] = useState(props.view.scopes.join(' '))
  const [busy, error, submit] = useSubmit()
  const onSubmit = (e: Event) => {
    e.preventDefault()
    void submit(async () => {
      await post(`/api/keys/${encodeURIComponent(props.view.id)}/scopes`, {scopes: scopeList(scopes)})
      props.onClose()
    })
  }
  return (
    <Dialog title={`Scopes of ${props.view.name}`} onClose={props.onClose} wide>
      <form onSubmit={onSubmit} class="form">
        <p class="muted">Now: {props.view.scopes.join(' ')}</p>
        <label>
          New scopes <input name="scopes" value={scopes} onInput={(e) => setScopes(inputValue(e))} autoComplete="off" />
        </label>
        <ScopePreview scopes={scopes} />
        <ErrorLine error={error} />
        <div class="buttons">
          <button type="submit" class="primary" disabled={busy}>
            Save scopes
          </button>
        </div>
      </form>
    </Dialog>
  )
}

export function RotateDialog(props: {view: KeyView; onClose: () => void; onIssued: (issued: IssuedKey) => void}) {
  const [grace, setGrace] = useState('24h')
  const [busy, error, submit] = useSubmit()
  const onSubmit = (e: Event) => {
    e.preventDefault()
    void submit(async () => props.onIssued(await post<IssuedKey>(`/api/keys/${encodeURIComponent(props.view.id)}/rotate`, {grace})))
  }
  return (
    <Dialog title={`Rotate ${props.view.name}`} onClose={props.onClose}>
      <form onSubmit={onSubmit} class="form">
        <p>A new secret for the same key: same id, name, scopes and limits.</p>
        <label>
          The old key keeps working for{' '}
          <select name="grace" value={grace} onChange={(e) => setGrace((e.target as HTMLSelectElement).value)}>
            <option value="0">no time: it stops now</option>
            <option value="1h">1 hour</option>
            <option value="24h">24 hours</option>
            <option value="7d">7 days</option>
          </select>
        </label>
        <ErrorLine error={error} />
        <div class="buttons">
          <button type="submit" class="primary" disabled={busy}>
            Rotate
          </button>
        </div>
      </form>
    </Dialog>
  )
}

export function RevokeDialog(props: {view: KeyView; onClose: () => void}) {
  const [typed, setTyped] = useState('')
  const [reason, setReason] = useState('')
  const [busy, error, submit] = useSubmit()
  const onSubmit = (e: Event) => {
    e.preventDefault()
    void submit(async () => {
      await post(`/api/keys/${encodeURIComponent(props.view.id)}/revoke`, {confirm: typed, reason})
      props.onClose()
    })
  }
  return (
    <Dialog title={`Revoke ${props.view.name}`} onClose={props.onClose}>
      <form onSubmit={onSubmit} class="form">
        <p>
          Clients using this key are cut off at once, <strong>permanently</strong>.
        </p>
        <label>
          Type <code>{props.view.name}</code> to confirm <input name="confirm" value={typed} onInput={(e) => setTyped(inputValue(e))} autoComplete="off" />
        </label>
        <label>
          Reason (recorded) <input name="reason" value={reason} onInput={(e) => setReason(inputValue(e))} />
        </label>
        <ErrorLine error={error} />
        <div class="buttons">
          <button type="submit" class="danger" disabled={busy || typed !== props.view.name}>
            Revoke key
          </button>
        </div>
      </form>
    </Dialog>
  )
}

/** The new key, once: closing the dialog drops it from the page for good. */
export function ShownOnce(props: {issued: IssuedKey; rotated: boolean; onClose: () => void}) {
  const [copied, setCopied] = useState(false)
  const input = useRef<HTMLInputElement>(null)
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.issued.key)
    } catch {
      // No clipboard permission: select it, so that Ctrl-C copies it.
      input.current?.select()
      document.execCommand('copy')
    }
    setCopied(true)
  }
  const old = props.rotated ? props.issued.record.graceSecrets?.at(-1) : undefined
  return (
    <Dialog title={`New key for ${props.issued.record.name}`} onClose={props.onClose} wide>
      <p class="warning" role="alert">
        This is the only time this key is shown. Store it now: keyward keeps only its hash.
      </p>
      <div class="key-once">
        <label class="visually-hidden" for="new-key">
          New key
        </label>
        <input id="new-key" ref={input} readOnly value={props.issued.key} data-testid="new-key" onFocus={(e) => (e.target as HTMLInputElement).select()} />
        <button type="button" class="primary" onClick={() => void copy()}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      {props.rotated && <p>{old ? `The old key stays valid until ${old.validUntil}.` : 'The old key no longer works.'}</p>}
      <div class="buttons">
        <button type="button" onClick={props.onClose}>
          Done: I stored it
        </button>
      </div>
    </Dialog>
  )
}
