/**
 * The audit log in memory, by column: a million records take about 35 MB and a filtered query
 * over all of them a few milliseconds. Strings (events, callers, tools, outcomes, reasons) are
 * kept once each in a dictionary and referred to by number; times, sequence numbers and
 * durations are typed arrays that double when full. Built once from the log, then extended as
 * the log grows (see audit-feed.ts).
 */
import type {AuditRecord} from '../../audit/index.js'
import {MinuteCounts} from './minute-counts.js'
import type {AuditRow} from '../wire.js'

export type {AuditRow} from '../wire.js'

/** What a chart counts an event as. */
export const Category = {Other: 0, Call: 1, Refusal: 2, RateLimited: 3} as const
export type Category = (typeof Category)[keyof typeof Category]

const CALL_EVENTS = new Set(['tool.call', 'prompt.get', 'resource.read'])
const REFUSAL_EVENTS = new Set(['auth.failure', 'authz.denied', 'guard.block', 'request.refused'])

function categoryOf(event: string): Category {
  if (CALL_EVENTS.has(event)) return Category.Call
  if (REFUSAL_EVENTS.has(event)) return Category.Refusal
  return event === 'ratelimit' ? Category.RateLimited : Category.Other
}

/** Strings by number; 0 is the empty string (the field was absent). */
export class Dictionary {
  readonly values: string[] = ['']
  private readonly ids = new Map<string, number>([['', 0]])

  id(value: string): number {
    let id = this.ids.get(value)
    if (id === undefined) {
      id = this.values.length
      this.values.push(value)
      this.ids.set(value, id)
    }
    return id
  }

  /** One flag per entry: which entries `test` accepts. */
  mask(test: (value: string, id: number) => boolean): Uint8Array {
    const out = new Uint8Array(this.values.length)
    this.values.forEach((v, i) => (out[i] = test(v, i) ? 1 : 0))
    return out
  }
}

export interface AuditFilter {
  /** A caller: principal id (`key:ID`), key id or key name. */
  key?: string
  /** An event type, or a group (`auth` for auth.*). */
  event?: string
  /** A tool, prompt or resource name, or what an admin action was about; a trailing `*` matches a prefix. */
  tool?: string
  outcome?: string
  /** ms since the epoch, inclusive. */
  from?: number
  to?: number
}


export interface AuditPage {
  /** Matching records in the whole index. */
  total: number
  rows: AuditRow[]
  /** Pass as `before` for the next (older) page; absent on the last page. */
  next?: number
}

const INITIAL = 1024
/** Rows per block of the time summary: a time window skips the blocks wholly outside it. */
const BLOCK = 1024

export class AuditIndex {
  size = 0
  seq = new Float64Array(INITIAL)
  ts = new Float64Array(INITIAL)
  event = new Uint16Array(INITIAL)
  who = new Uint32Array(INITIAL)
  subject = new Uint32Array(INITIAL)
  outcome = new Uint8Array(INITIAL)
  reason = new Uint16Array(INITIAL)
  duration = new Float32Array(INITIAL)

  readonly events = new Dictionary()
  readonly callers = new Dictionary()
  readonly subjects = new Dictionary()
  readonly outcomes = new Dictionary()
  readonly reasons = new Dictionary()
  /** The earliest and latest time in each block of rows (records come nearly, not exactly, in time order). */
  private blockMin: number[] = []
  private blockMax: number[] = []
  /** Category of each event entry. */
  categories: Category[] = [Category.Other]
  /** The name last seen for each caller entry (a key's name). */
  readonly callerNames: string[] = ['']
  /** The last day's counts per minute, for the charts. */
  readonly minutes: MinuteCounts

  /** `now`: the clock that decides what "the last day" is (tests set it). */
  constructor(now: () => number = Date.now) {
    this.minutes = new MinuteCounts(now)
  }

  get lastSeq(): number {
    return this.size === 0 ? 0 : this.seq[this.size - 1]
  }

  add(r: AuditRecord): void {
    if (this.size === this.seq.length) this.grow()
    const i = this.size++
    this.seq[i] = r.seq
    const t = Date.parse(r.ts)
    this.ts[i] = t
    const block = Math.floor(i / BLOCK)
    if (block === this.blockMin.length) {
      this.blockMin.push(t)
      this.blockMax.push(t)
    } else {
      if (t < this.blockMin[block]) this.blockMin[block] = t
      if (t > this.blockMax[block]) this.blockMax[block] = t
    }
    const event = this.events.id(r.event)
    if (event === this.categories.length) this.categories.push(categoryOf(r.event))
    this.event[i] = event
    const who = this.callers.id(callerOf(r))
    if (who === this.callerNames.length) this.callerNames.push('')
    this.who[i] = who
    // An admin action's `name` is what it changed (a key's name); the caller is then the admin.
    const name = r.principal ? text(r.name) : r.actor ? `${text(r.actor)} (${text(r.user) ?? '?'})` : undefined
    if (name) this.callerNames[who] = name
    else if (!this.callerNames[who]) this.callerNames[who] = this.callers.values[who]
    const subject = this.subjects.id(subjectOf(r))
    this.subject[i] = subject
    const category = this.categories[event]
    if (category !== Category.Other) this.minutes.add(t, category, who, subject)
    this.outcome[i] = Math.min(255, this.outcomes.id(text(r.outcome) ?? ''))
    this.reason[i] = Math.min(65_535, this.reasons.id(text(r.reason) ?? ''))
    this.duration[i] = typeof r.duration_ms === 'number' ? r.duration_ms : NaN
  }

  private grow(): void {
    const n = this.seq.length * 2
    const more = <T extends Float64Array | Float32Array | Uint32Array | Uint16Array | Uint8Array>(a: T, make: new (n: number) => T): T => {
      const b = new make(n)
      b.set(a)
      return b
    }
    this.seq = more(this.seq, Float64Array)
    this.ts = more(this.ts, Float64Array)
    this.event = more(this.event, Uint16Array)
    this.who = more(this.who, Uint32Array)
    this.subject = more(this.subject, Uint32Array)
    this.outcome = more(this.outcome, Uint8Array)
    this.reason = more(this.reason, Uint16Array)
    this.duration = more(this.duration, Float32Array)
  }

  /** Rows [start, end) outside of which no row's time is in [from, to]. */
  rowsBetween(from = -Infinity, to = Infinity): [number, number] {
    let first = 0
    while (first < this.blockMax.length && this.blockMax[first] < from) first++
    let last = this.blockMin.length - 1
    while (last >= first && this.blockMin[last] > to) last--
    return [first * BLOCK, Math.min(this.size, (last + 1) * BLOCK)]
  }

  /** A test for row numbers that applies `filter`; built once per query from the dictionaries. */
  matcher(filter: AuditFilter): (i: number) => boolean {
    const events = filter.event ? this.events.mask((e) => e === filter.event || e.startsWith(`${filter.event}.`)) : undefined
    const key = filter.key
    const callers = key ? this.callers.mask((c, id) => c === key || c === `key:${key}` || this.callerNames[id] === key) : undefined
    const tool = filter.tool
    const subjects = tool ? this.subjects.mask(tool.endsWith('*') ? (s) => s.startsWith(tool.slice(0, -1)) : (s) => s === tool) : undefined
    const outcome = filter.outcome ? this.outcomes.mask((o) => o === filter.outcome) : undefined
    const from = filter.from ?? -Infinity
    const to = filter.to ?? Infinity
    return (i) => {
      const t = this.ts[i]
      return (
        t >= from &&
        t <= to &&
        (events === undefined || events[this.event[i]] === 1) &&
        (callers === undefined || callers[this.who[i]] === 1) &&
        (subjects === undefined || subjects[this.subject[i]] === 1) &&
        (outcome === undefined || outcome[this.outcome[i]] === 1)
      )
    }
  }

  /** Newest first: `limit` matching rows before row `before` (exclusive), and how many match in all. */
  query(filter: AuditFilter, limit: number, before = this.size): AuditPage {
    const match = this.matcher(filter)
    const rows: AuditRow[] = []
    let total = 0
    let last = -1
    let more = false
    const [start, end] = this.rowsBetween(filter.from, filter.to)
    for (let i = end - 1; i >= start; i--) {
      if (!match(i)) continue
      total++
      if (i >= before) continue
      if (rows.length < limit) {
        rows.push(this.row(i))
        last = i
      } else more = true
    }
    return {total, rows, ...(more ? {next: last} : {})}
  }

  row(i: number): AuditRow {
    const d = this.duration[i]
    return {
      seq: this.seq[i],
      ts: new Date(this.ts[i]).toISOString(),
      event: this.events.values[this.event[i]],
      who: this.callers.values[this.who[i]],
      name: this.callerNames[this.who[i]],
      subject: this.subjects.values[this.subject[i]],
      outcome: this.outcomes.values[this.outcome[i]],
      ...(Number.isNaN(d) ? {} : {duration_ms: Math.round(d * 10) / 10}),
      reason: this.reasons.values[this.reason[i]],
    }
  }
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** Who acted: the authenticated caller, else the admin (`ui:alice`), else the client address of a refused request. */
function callerOf(r: AuditRecord): string {
  const principal = text(r.principal)
  if (principal) return principal
  if (text(r.actor)) return `${text(r.actor)}:${text(r.user) ?? '?'}`
  const peer = text(r.peer)
  return peer ? `peer:${peer}` : ''
}

/** What the record is about: the tool, prompt or resource called, or the key, secret or upstream an admin changed. */
function subjectOf(r: AuditRecord): string {
  return text(r.tool) ?? text(r.prompt) ?? text(r.uri) ?? text(r.secret) ?? text(r.upstream) ?? (r.actor ? text(r.name) : undefined) ?? ''
}
