/** Audit: the log, filtered and paged on the server, a live tail over SSE, and any record whole. */
import {useEffect, useState} from 'preact/hooks'

import {get, post, qs} from './api.js'
import {count, ms, shown, shownLines, when} from './format.js'
import type {AuditPage, AuditRow, Facets, VerifyState} from './types.js'
import {Badge, Dialog, ErrorLine, Note, useData, useReady, type Tone} from './widgets.js'

interface Filter {
  key: string
  event: string
  tool: string
  outcome: string
  from: string
  to: string
}

const EMPTY: Filter = {key: '', event: '', tool: '', outcome: '', from: '', to: ''}
const GROUPS = ['auth', 'authz', 'tool', 'key', 'secret', 'upstream', 'server', 'ui']

/** datetime-local gives local time without a zone; the server takes ms since the epoch. */
function params(f: Filter): Record<string, string | undefined> {
  const time = (v: string) => (v ? String(new Date(v).getTime()) : undefined)
  return {key: f.key, event: f.event, tool: f.tool, outcome: f.outcome, from: time(f.from), to: time(f.to)}
}

export function Audit() {
  const [draft, setDraft] = useState<Filter>(EMPTY)
  const [filter, setFilter] = useState<Filter>(EMPTY)
  const [cursors, setCursors] = useState<number[]>([])
  const [live, setLive] = useState<AuditRow[]>([])
  const [tail, setTail] = useState(false)
  const [open, setOpen] = useState<number>()
  const facets = useData(() => get<Facets>('/api/audit/facets'), [])
  const before = cursors.at(-1)
  const page = useData((background) => get<AuditPage>(`/api/audit${qs({...params(filter), before, limit: 50})}`, {background}), [filter, before])
  useReady('audit', page.data !== undefined && facets.data !== undefined)
  useTail(tail, filter, (rows) => setLive((old) => [...rows.reverse(), ...old].slice(0, 500)))
  const apply = (e: Event) => {
    e.preventDefault()
    setFilter(draft)
    setCursors([])
    setLive([])
  }
  const set = (name: keyof Filter) => (e: Event) => setDraft({...draft, [name]: (e.target as HTMLInputElement).value})
  const rows = before === undefined ? [...live, ...(page.data?.rows ?? [])] : (page.data?.rows ?? [])
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Audit log</h1>
      <form class="toolbar filters" onSubmit={apply} role="search" aria-label="Filter the audit log">
        <FilterFields draft={draft} set={set} facets={facets.data} />
        <button type="submit" class="primary">
          Apply
        </button>
        <label class="check">
          <input type="checkbox" checked={tail} onChange={(e) => setTail((e.target as HTMLInputElement).checked)} /> Live tail
        </label>
      </form>
      <ErrorLine error={page.error ?? facets.error} />
      {page.data && (
        <p class="muted" role="status" data-testid="audit-count">
          {count(page.data.total + live.length)} matching of {count(page.data.indexed + live.length)} records{page.data.building ? ' (still reading the log)' : ''} · query {ms(page.data.ms)}
        </p>
      )}
      {rows.length > 0 ? <AuditTable rows={rows} fresh={live.length} open={setOpen} /> : page.data && <Note>No record matches.</Note>}
      <div class="buttons pager">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors([])}>
          Newest
        </button>
        <button type="button" disabled={page.data?.next === undefined} onClick={() => setCursors([...cursors, page.data!.next!])}>
          Older
        </button>
      </div>
      {open !== undefined && <RecordDialog seq={open} onClose={() => setOpen(undefined)} />}
    </section>
  )
}

function FilterFields(props: {draft: Filter; set: (name: keyof Filter) => (e: Event) => void; facets?: Facets}) {
  const {draft, set, facets} = props
  return (
    <>
      <label>
        Key{' '}
        <select name="key" value={draft.key} onChange={set('key')}>
          <option value="">any</option>
          {facets?.keys.map((k) => <option value={k.id}>{shown(k.label)}</option>)}
        </select>
      </label>
      <label>
        Event{' '}
        <select name="event" value={draft.event} onChange={set('event')}>
          <option value="">any</option>
          {GROUPS.map((g) => <option value={g}>{g}.*</option>)}
          {facets?.events.map((e) => <option value={e}>{e}</option>)}
        </select>
      </label>
      <label>
        Tool <input name="tool" list="audit-tools" value={draft.tool} onInput={set('tool')} placeholder="name, or prefix*" />
      </label>
      {/* Only names that read as they are: the browser shows an option's value, and puts it in the field. */}
      <datalist id="audit-tools">{facets?.tools.filter((t) => shown(t) === t).map((t) => <option value={t} />)}</datalist>
      <label>
        Outcome{' '}
        <select name="outcome" value={draft.outcome} onChange={set('outcome')}>
          <option value="">any</option>
          {facets?.outcomes.map((o) => <option value={o}>{o}</option>)}
        </select>
      </label>
      <label>
        From <input type="datetime-local" name="from" step="1" value={draft.from} onInput={set('from')} />
      </label>
      <label>
        To <input type="datetime-local" name="to" step="1" value={draft.to} onInput={set('to')} />
      </label>
    </>
  )
}

/** New records matching `filter`, as the server sends them, while `on`. */
function useTail(on: boolean, filter: Filter, add: (rows: AuditRow[]) => void): void {
  useEffect(() => {
    if (!on) return
    const source = new EventSource(`/api/audit/stream${qs(params(filter))}`)
    let batch: AuditRow[] = []
    let timer: number | undefined
    source.onmessage = (e) => {
      batch.push(JSON.parse(e.data as string) as AuditRow)
      timer ??= window.setTimeout(() => {
        add(batch)
        batch = []
        timer = undefined
      }, 100)
    }
    source.addEventListener('expired', () => source.close())
    return () => {
      source.close()
      clearTimeout(timer)
    }
  }, [on, filter])
}

function outcomeTone(row: AuditRow): Tone {
  if (row.outcome === 'ok' || row.event === 'auth.success') return 'ok'
  if (row.outcome === 'error' || row.outcome === 'blocked' || /^(auth\.failure|authz|guard|request\.refused|ratelimit)/.test(row.event)) return 'bad'
  return 'muted'
}

function AuditTable(props: {rows: AuditRow[]; fresh: number; open: (seq: number) => void}) {
  return (
    <table id="audit-table" class="dense">
      <caption class="visually-hidden">Audit records, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">#</th>
          <th scope="col">Event</th>
          <th scope="col">Who</th>
          <th scope="col">Tool or subject</th>
          <th scope="col">Outcome</th>
          <th scope="col">Duration</th>
          <th scope="col">Reason</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((r, i) => (
          <tr key={r.seq} class={i < props.fresh ? 'fresh' : ''} data-seq={r.seq}>
            <td>{when(r.ts)}</td>
            <td>
              <button type="button" class="link" onClick={() => props.open(r.seq)} aria-label={`Show record ${r.seq}`}>
                {r.seq}
              </button>
            </td>
            <td>
              <Badge tone={outcomeTone(r)}>{r.event}</Badge>
            </td>
            <td title={shown(r.who)}>{shown(r.name || r.who)}</td>
            <td>
              <code>{shown(r.subject)}</code>
            </td>
            <td>{r.outcome}</td>
            <td>{r.duration_ms === undefined ? '' : ms(r.duration_ms)}</td>
            <td>{r.reason}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function RecordDialog(props: {seq: number; onClose: () => void}) {
  const record = useData(() => get<{record: Record<string, unknown>}>(`/api/audit/records/${props.seq}`), [props.seq])
  return (
    <Dialog title={`Audit record ${props.seq}`} onClose={props.onClose} wide>
      <ErrorLine error={record.error} />
      {record.data && <pre class="record">{shownLines(JSON.stringify(record.data.record, null, 2))}</pre>}
    </Dialog>
  )
}

const VERIFY_TONE: Record<VerifyState['status'], Tone> = {intact: 'ok', broken: 'bad', error: 'bad', pending: 'info', absent: 'muted'}

/** The `audit verify` verdict, with a button to check again. */
export function VerifyPanel() {
  const state = useData((background) => get<VerifyState>('/api/audit/verify', {background}), [], 10_000)
  const [busy, setBusy] = useState(false)
  const again = async () => {
    setBusy(true)
    await post('/api/audit/verify').catch(() => {})
    await state.reload()
    setBusy(false)
  }
  return (
    <div class="verify">
      <VerifyBadge state={state.data} />
      <button type="button" onClick={() => void again()} disabled={busy}>
        {busy ? 'Verifying…' : 'Verify now'}
      </button>
    </div>
  )
}

export function VerifyBadge(props: {state?: VerifyState}) {
  const s = props.state
  if (!s) return null
  const text = s.status === 'intact' ? `audit log intact: ${count(s.records ?? 0)} records checked ${when(s.checkedAt).slice(11)}` : s.status === 'broken' ? `audit log ${s.kind}` : s.status === 'pending' ? 'verifying the audit log…' : s.status === 'absent' ? 'no audit log yet' : 'audit log not verified'
  return (
    <span class="verify-state" data-testid="verify-state" data-status={s.status} title={[s.message, s.checkedAt && `checked ${when(s.checkedAt)}`].filter(Boolean).join(' · ')}>
      <Badge tone={VERIFY_TONE[s.status]}>{text}</Badge>
    </span>
  )
}
