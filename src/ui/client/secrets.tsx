/** Secrets: names, descriptions, sizes and dates; set or replace a value through a password field. Values never come back. */
import type {RefObject} from 'preact'
import {useRef, useState} from 'preact/hooks'

import {get, post} from './api.js'
import {bytes, when} from './format.js'
import type {SecretInfo} from './types.js'
import {ErrorLine, Note, useData, useReady} from './widgets.js'

export function Secrets() {
  const secrets = useData((background) => get<{secrets: SecretInfo[]}>('/api/secrets', {background}), [], 15_000)
  const [name, setName] = useState('')
  const nameInput = useRef<HTMLInputElement>(null)
  useReady('secrets', secrets.data !== undefined)
  const replace = (s: SecretInfo) => {
    setName(s.name)
    nameInput.current?.focus()
  }
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Secrets</h1>
      <ErrorLine error={secrets.error} />
      {secrets.data && secrets.data.secrets.length === 0 && <Note>The vault holds no secrets.</Note>}
      {secrets.data && secrets.data.secrets.length > 0 && (
        <table id="secrets-table">
          <caption class="visually-hidden">Secrets in the vault (values are never shown)</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
              <th scope="col">Size</th>
              <th scope="col">Created</th>
              <th scope="col">Updated</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {secrets.data.secrets.map((s) => (
              <tr key={s.name} data-secret={s.name}>
                <td>
                  <code>{s.name}</code>
                </td>
                <td>{s.description ?? ''}</td>
                <td>{bytes(s.size)}</td>
                <td>{when(s.created)}</td>
                <td>{when(s.updated)}</td>
                <td class="actions">
                  <button type="button" onClick={() => replace(s)} aria-label={`Replace the value of ${s.name}`}>
                    Replace
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <SecretForm name={name} setName={setName} nameInput={nameInput} saved={() => void secrets.reload()} />
    </section>
  )
}

function SecretForm(props: {name: string; setName: (n: string) => void; nameInput: RefObject<HTMLInputElement | null>; saved: () => void}) {
  const [value, setValue] = useState('')
  const [description, setDescription] = useState('')
  const [error, setError] = useState<string>()
  const [done, setDone] = useState<string>()
  const [busy, setBusy] = useState(false)
  const onSubmit = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    setDone(undefined)
    try {
      const r = await post<{created: boolean; secret: SecretInfo}>('/api/secrets', {name: props.name, value, description})
      setDone(`${r.created ? 'Stored' : 'Replaced'} secret ${r.secret.name} (${bytes(r.secret.size)}).`)
      setValue('')
      setDescription('')
      props.saved()
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <section class="panel" aria-labelledby="set-title">
      <h2 id="set-title">Set a secret</h2>
      <form class="form" onSubmit={(e) => void onSubmit(e)}>
        <label>
          Name <input ref={props.nameInput} name="name" required value={props.name} onInput={(e) => props.setName((e.target as HTMLInputElement).value)} autoComplete="off" />
        </label>
        <label>
          {/* Not offered to the browser's password manager: a vault secret is no site's password to save and sync. */}
          Value <input type="password" name="value" required value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} autoComplete="off" data-lpignore="true" data-1p-ignore="true" data-bwignore="true" />
        </label>
        <label>
          Description <input name="description" value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} placeholder="(kept as it is when empty)" />
        </label>
        <p class="muted small">An existing secret with this name is replaced. Upstreams that use it restart with the new value.</p>
        <ErrorLine error={error} />
        {done && <Note>{done}</Note>}
        <div class="buttons">
          <button type="submit" class="primary" disabled={busy}>
            Save secret
          </button>
        </div>
      </form>
    </section>
  )
}
