/**
 * Pinned definitions: trust on first use for what an upstream offers (tools, prompts, resource
 * templates). The first time keyward sees an upstream's items, each is pinned by a SHA-256 of
 * its canonical JSON, with the definition itself kept so that a later change can be shown field
 * by field. After that, a changed or new item is quarantined until `upstream approve`; an item
 * that disappeared is recorded. A rename (a pin gone, and a new item with the same definition
 * under another name) is a change, not a new tool.
 *
 * This module is plain data in, data out: no SDK, no vault, no I/O. The gateway calls `review`
 * where it lists an upstream's items; the CLI and the console call `diffPins` and `approvePins`.
 */
import {createHash} from 'node:crypto'

export type PinKind = 'tool' | 'prompt' | 'template'
export const PIN_KINDS: readonly PinKind[] = ['tool', 'prompt', 'template']

/** An item as the upstream listed it (a Tool, Prompt or ResourceTemplate). */
export type Definition = {name: string} & Record<string, unknown>

/** The fields that are pinned, per kind: everything a model reads. `_meta` is not. */
const PINNED_FIELDS: Record<PinKind, readonly string[]> = {
  tool: ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations', 'icons'],
  prompt: ['name', 'title', 'description', 'arguments', 'icons'],
  template: ['name', 'title', 'description', 'uriTemplate', 'mimeType', 'annotations', 'icons'],
}

/** Deeper than this, a definition is refused rather than walked (a hostile schema must not blow the stack). */
const MAX_DEPTH = 64
/** Larger than this (canonical JSON), a definition is refused: the vault keeps every pin, and real ones are a few KiB. */
export const MAX_DEFINITION_BYTES = 64 * 1024
/** At most this many changes await approval per upstream: an upstream inventing tools cannot fill the vault. */
export const MAX_PENDING = 500

export interface Pin {
  kind: PinKind
  name: string
  hash: string
  /** A hash of the pinned fields as the upstream lists them (key order and all): the fast path of a check. */
  listed?: string
  definition: Record<string, unknown>
  pinnedAt: string
  /** Set while the upstream no longer lists it. */
  missingSince?: string
}

export type PendingChange = 'changed' | 'added' | 'flagged'

/** An item held back until approved: what the upstream listed instead of (or beside) its pins. */
export interface Pending {
  kind: PinKind
  name: string
  hash: string
  listed?: string
  definition: Record<string, unknown>
  seenAt: string
  /** changed: a pinned item's definition changed; added: a new item; flagged: the scanner found something at first use. */
  change: PendingChange
  /** A rename: the pin whose definition this is, under its old name. */
  renamedFrom?: string
}

/** One upstream's pins, as the vault keeps them (table `pins`, by upstream name). */
export interface UpstreamPins {
  /** When keyward first saw the upstream's items: from then on, anything new is held back. */
  since?: string
  items: Record<string, Pin>
  pending: Record<string, Pending>
}

export type PinEventType = 'pin.added' | 'pin.changed' | 'pin.removed'

export interface PinEvent {
  type: PinEventType
  kind: PinKind
  name: string
  /** The new definition's hash (added, changed) or the pin's (removed). */
  hash: string
  /** changed: the pin's hash before. */
  before?: string
  renamedFrom?: string
}

export class DefinitionError extends Error {}

export function pinKey(kind: PinKind, name: string): string {
  return `${kind}:${name}`
}

/** JSON with object keys sorted at every depth, and undefined members left out. */
export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) throw new DefinitionError(`nested deeper than ${MAX_DEPTH} levels`)
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) return 'null'
    return JSON.stringify(value) ?? 'null'
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v, depth + 1))).join(',')}]`
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined && typeof record[k] !== 'function')
    .sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k], depth + 1)}`).join(',')}}`
}

/** The pinned part of a definition: the fields a model reads, nothing else. */
export function pinnedFields(kind: PinKind, def: Definition): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const field of PINNED_FIELDS[kind]) if (def[field] !== undefined) out[field] = def[field]
  return out
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

export interface Fingerprint {
  kind: PinKind
  name: string
  /** SHA-256 of the canonical JSON: what a pin is. */
  hash: string
  listed?: string
  definition: Record<string, unknown>
}

export function fingerprint(kind: PinKind, def: Definition): Fingerprint {
  const definition = pinnedFields(kind, def)
  const {name: _name, ...rest} = definition
  const body = canonicalJson(rest)
  if (body.length > MAX_DEFINITION_BYTES) throw new DefinitionError(`larger than ${MAX_DEFINITION_BYTES / 1024} KiB`)
  return {kind, name: def.name, hash: sha256(`${kind}\n${canonicalJson(def.name)}\n${body}`), listed: listedHash(kind, def), definition}
}

/** The hash of a definition without its name: equal for a renamed item. */
export function shapeOf(kind: PinKind, definition: Record<string, unknown>): string {
  const {name: _name, ...rest} = definition
  return sha256(`${kind}\n${canonicalJson(rest)}`)
}

/**
 * A hash of the pinned fields in the order the upstream listed them. JSON.stringify is native and
 * several times faster than the canonical form: a check compares this first, and computes the
 * canonical hash only when it differs (a change, or the same definition with its keys reordered).
 */
export function listedHash(kind: PinKind, def: Definition): string | undefined {
  try {
    return sha256(`${kind}\n${JSON.stringify(pinnedFields(kind, def))}`)
  } catch {
    return undefined
  }
}

export function emptyPins(): UpstreamPins {
  return {items: {}, pending: {}}
}

/** What the upstream listed, by kind. A kind that is absent was not listed this time (its items are kept as they are). */
export type Listing = Partial<Record<PinKind, readonly Definition[]>>

export interface ReviewOptions {
  now: string
  /** block: changed and new items are left out; warn: they are served, and still recorded and reported. */
  onChange: 'block' | 'warn'
  /** An item this returns true for is held back: at first use instead of pinned, and under warn a change or new item (scan.on-finding block). */
  hold?(kind: PinKind, def: Definition): boolean
  /**
   * The listing may not be all the upstream offers (one client session's own connection, whose
   * items can differ with its state): changes and new items are recorded, absences are not.
   */
  partial?: boolean
}

export interface Review {
  /** The state to keep: pins on first use, pending and missing items recorded. */
  state: UpstreamPins
  /** Per kind listed: the names that may be served. */
  served: Partial<Record<PinKind, Set<string>>>
  /** Changes not recorded in the state before: what to audit and log. */
  events: PinEvent[]
  firstUse: boolean
  /** Whether `state` differs from the state reviewed: something to write. */
  changed: boolean
  /** Items left out because their definition cannot be pinned (too deep, a duplicate name). */
  refused: {kind: PinKind; name: string; why: string}[]
}

/** The listing by name; a name listed twice is refused (which of the two would be pinned?). */
function byName(kind: PinKind, defs: readonly Definition[], refused: Review['refused']): Map<string, Definition> {
  const out = new Map<string, Definition>()
  const twice = new Set<string>()
  for (const def of defs) {
    if (typeof def?.name !== 'string') continue
    if (out.has(def.name)) twice.add(def.name)
    else out.set(def.name, def)
  }
  for (const name of twice) {
    out.delete(name)
    refused.push({kind, name, why: 'listed twice'})
  }
  return out
}

/** The fingerprint, or undefined (and the item refused) when the definition cannot be pinned. */
function tryFingerprint(kind: PinKind, def: Definition, refused: Review['refused']): Fingerprint | undefined {
  try {
    return fingerprint(kind, def)
  } catch (err) {
    if (!(err instanceof DefinitionError)) throw err
    refused.push({kind, name: def.name, why: err.message})
    return undefined
  }
}

function clone(state: UpstreamPins | undefined): UpstreamPins {
  return {...(state?.since ? {since: state.since} : {}), items: {...(state?.items ?? {})}, pending: {...(state?.pending ?? {})}}
}

/** An upstream that offered nothing at first is still past its first use: a tool it adds later is new. */
function isFirstUse(state: UpstreamPins | undefined): boolean {
  return !state?.since && Object.keys(state?.items ?? {}).length === 0 && Object.keys(state?.pending ?? {}).length === 0
}

/**
 * Compares what an upstream listed with its pins. Pure: the caller keeps `state` (in the vault,
 * or in memory where it cannot write) and acts on `served` and `events`.
 */
export function review(previous: UpstreamPins | undefined, listing: Listing, options: ReviewOptions): Review {
  const state = clone(previous)
  const result: Review = {state, served: {}, events: [], firstUse: isFirstUse(previous), changed: false, refused: []}
  for (const kind of PIN_KINDS) {
    const defs = listing[kind]
    if (!defs) continue
    const seen = byName(kind, defs, result.refused)
    const served = new Set<string>()
    result.served[kind] = served
    if (result.firstUse) pinFirstUse(state, kind, seen, served, options, result.refused)
    else if (compareKind(state, kind, seen, served, result, options)) result.changed = true
  }
  if (result.firstUse && Object.keys(listing).length > 0) {
    state.since = options.now
    result.changed = true
  }
  return result
}

function pinFirstUse(state: UpstreamPins, kind: PinKind, seen: Map<string, Definition>, served: Set<string>, options: ReviewOptions, refused: Review['refused']): void {
  for (const def of seen.values()) {
    const print = tryFingerprint(kind, def, refused)
    if (!print) continue
    const key = pinKey(kind, print.name)
    const {hash, listed, definition} = print
    if (options.hold?.(kind, {...definition, name: print.name})) {
      state.pending[key] = {kind, name: print.name, hash, listed, definition, seenAt: options.now, change: 'flagged'}
      continue
    }
    state.items[key] = {kind, name: print.name, hash, listed, definition, pinnedAt: options.now}
    served.add(print.name)
  }
}

/** Compares one kind's listing with its pins; true when `state` changed. */
function compareKind(state: UpstreamPins, kind: PinKind, seen: Map<string, Definition>, served: Set<string>, result: Review, options: ReviewOptions): boolean {
  let changed = false
  const pins = Object.values(state.items).filter((p) => p.kind === kind)
  const vanished = pins.filter((p) => !seen.has(p.name))
  let shapes: Map<string, string> | undefined
  const renameOf = (print: Fingerprint) => {
    shapes ??= new Map(vanished.map((p) => [p.name, shapeOf(kind, p.definition)]))
    const shape = shapeOf(kind, print.definition)
    return vanished.find((p) => shapes!.get(p.name) === shape)?.name
  }
  for (const def of seen.values()) {
    const key = pinKey(kind, def.name)
    const pin = state.items[key]
    // The fast path: the same bytes as when it was pinned. Otherwise the canonical hash decides.
    const same = pin?.listed !== undefined && pin.listed === listedHash(kind, def)
    const print = same ? undefined : tryFingerprint(kind, def, result.refused)
    if (!same && !print) continue
    if (same || (pin && pin.hash === print!.hash)) {
      served.add(def.name)
      if (pin!.missingSince) {
        const {missingSince: _back, ...present} = pin!
        state.items[key] = present
        changed = true
      }
      if (state.pending[key]) {
        delete state.pending[key]
        changed = true
      }
      continue
    }
    const {hash, listed, definition} = print!
    // warn serves a change, unless the scanner flags it: a definition seen for the first time, as at first use.
    if (options.onChange === 'warn' && !options.hold?.(kind, {...definition, name: def.name})) served.add(def.name)
    const renamedFrom = pin || vanished.length === 0 ? undefined : renameOf(print!)
    const change: PendingChange = pin || renamedFrom ? 'changed' : 'added'
    const recorded = state.pending[key]
    // A flagged item stays flagged (it was never pinned) until its definition changes.
    if (recorded?.hash === hash && (recorded.change === change || recorded.change === 'flagged')) continue
    if (!recorded && Object.keys(state.pending).length >= MAX_PENDING) {
      result.refused.push({kind, name: def.name, why: `not recorded: ${MAX_PENDING} changes await approval already`})
      continue
    }
    state.pending[key] = {kind, name: def.name, hash, listed, definition, seenAt: options.now, change, ...(renamedFrom ? {renamedFrom} : {})}
    changed = true
    result.events.push({type: change === 'added' ? 'pin.added' : 'pin.changed', kind, name: def.name, hash, ...(pin ? {before: pin.hash} : {}), ...(renamedFrom ? {renamedFrom} : {})})
  }
  if (options.partial) return changed
  for (const pin of vanished) {
    if (pin.missingSince) continue
    state.items[pinKey(kind, pin.name)] = {...pin, missingSince: options.now}
    changed = true
    result.events.push({type: 'pin.removed', kind, name: pin.name, hash: pin.hash})
  }
  // A pending item the upstream no longer lists has nothing left to approve.
  for (const [key, pending] of Object.entries(state.pending)) {
    if (pending.kind !== kind || seen.has(pending.name)) continue
    delete state.pending[key]
    changed = true
  }
  return changed
}

// ---- approving ---------------------------------------------------------------------------------

/** `NAME`, or `kind:NAME` to pick one kind. */
export function matchesSelector(selector: string, kind: PinKind, name: string): boolean {
  const colon = selector.indexOf(':')
  const picked = colon > 0 && (PIN_KINDS as readonly string[]).includes(selector.slice(0, colon)) ? {kind: selector.slice(0, colon), name: selector.slice(colon + 1)} : {kind: undefined, name: selector}
  return picked.name === name && (picked.kind === undefined || picked.kind === kind)
}

export interface Approval {
  state: UpstreamPins
  pinned: {kind: PinKind; name: string; hash: string; change: PendingChange; renamedFrom?: string}[]
  /** Pins of items that disappeared, dropped. */
  dropped: {kind: PinKind; name: string}[]
  /** Selectors that matched nothing. */
  unmatched: string[]
}

/** Pins the pending definitions (all, or those the selectors name) and drops the pins of items that disappeared. */
export function approvePins(previous: UpstreamPins | undefined, selectors: readonly string[], now: string): Approval {
  const state = clone(previous)
  const approval: Approval = {state, pinned: [], dropped: [], unmatched: []}
  const picked = (kind: PinKind, name: string) => selectors.length === 0 || selectors.some((s) => matchesSelector(s, kind, name))
  const used = new Set<string>()
  const mark = (kind: PinKind, name: string) => {
    for (const s of selectors) if (matchesSelector(s, kind, name)) used.add(s)
  }
  for (const [key, pending] of Object.entries(state.pending)) {
    if (!picked(pending.kind, pending.name)) continue
    mark(pending.kind, pending.name)
    delete state.pending[key]
    state.items[key] = {kind: pending.kind, name: pending.name, hash: pending.hash, ...(pending.listed ? {listed: pending.listed} : {}), definition: pending.definition, pinnedAt: now}
    if (pending.renamedFrom) {
      const old = pinKey(pending.kind, pending.renamedFrom)
      if (state.items[old]?.missingSince) delete state.items[old]
    }
    approval.pinned.push({kind: pending.kind, name: pending.name, hash: pending.hash, change: pending.change, ...(pending.renamedFrom ? {renamedFrom: pending.renamedFrom} : {})})
  }
  for (const [key, pin] of Object.entries(state.items)) {
    if (!pin.missingSince || !picked(pin.kind, pin.name)) continue
    mark(pin.kind, pin.name)
    delete state.items[key]
    approval.dropped.push({kind: pin.kind, name: pin.name})
  }
  approval.unmatched = selectors.filter((s) => !used.has(s))
  return approval
}

// ---- showing -----------------------------------------------------------------------------------

export interface FieldChange {
  /** `description`, `inputSchema.properties.notes.description`, `arguments[0].name`. */
  path: string
  before?: unknown
  after?: unknown
}

export interface PinDiff {
  kind: PinKind
  name: string
  change: PendingChange | 'removed'
  renamedFrom?: string
  /** When it was seen (pending) or went missing (removed). */
  since: string
  fields: FieldChange[]
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`
  const safe = /^[A-Za-z_$][\w$-]*$/.test(key) ? key : JSON.stringify(key)
  return base === '' ? safe : `${base}.${safe}`
}

/** Field-by-field differences between two JSON values, down to the leaves that differ. */
export function fieldChanges(before: unknown, after: unknown, path = '', depth = 0): FieldChange[] {
  if (canonicalJson(before) === canonicalJson(after)) return []
  if (depth < MAX_DEPTH && isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
    return keys.flatMap((k) => fieldChanges(before[k], after[k], joinPath(path, k), depth + 1))
  }
  if (depth < MAX_DEPTH && Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((b, i) => fieldChanges(b, after[i], joinPath(path, i), depth + 1))
  }
  return [{path: path || '(whole)', ...(before !== undefined ? {before} : {}), ...(after !== undefined ? {after} : {})}]
}

/** What awaits approval, field by field: the data behind `upstream diff` (and the console's view). */
export function diffPins(state: UpstreamPins | undefined): PinDiff[] {
  if (!state) return []
  const out: PinDiff[] = []
  for (const pending of Object.values(state.pending)) {
    const base = pending.renamedFrom ? state.items[pinKey(pending.kind, pending.renamedFrom)] : state.items[pinKey(pending.kind, pending.name)]
    out.push({
      kind: pending.kind,
      name: pending.name,
      change: pending.change,
      ...(pending.renamedFrom ? {renamedFrom: pending.renamedFrom} : {}),
      since: pending.seenAt,
      fields: fieldChanges(base?.definition ?? {}, pending.definition),
    })
  }
  for (const pin of Object.values(state.items)) {
    if (!pin.missingSince) continue
    // A renamed pin shows under its new name.
    if (Object.values(state.pending).some((p) => p.kind === pin.kind && p.renamedFrom === pin.name)) continue
    out.push({kind: pin.kind, name: pin.name, change: 'removed', since: pin.missingSince, fields: fieldChanges(pin.definition, {})})
  }
  return out.sort((a, b) => (a.kind + a.name < b.kind + b.name ? -1 : 1))
}

export interface PinRow {
  kind: PinKind
  name: string
  hash: string
  status: 'pinned' | 'missing' | 'quarantined'
  since: string
  change?: PendingChange
}

/** Every pin and every pending item: the data behind `upstream pins`. */
export function pinRows(state: UpstreamPins | undefined): PinRow[] {
  if (!state) return []
  const rows: PinRow[] = Object.values(state.items).map((p) => ({kind: p.kind, name: p.name, hash: p.hash, status: p.missingSince ? 'missing' : 'pinned', since: p.missingSince ?? p.pinnedAt}))
  for (const p of Object.values(state.pending)) rows.push({kind: p.kind, name: p.name, hash: p.hash, status: 'quarantined', since: p.seenAt, change: p.change})
  return rows.sort((a, b) => (a.kind + a.name + a.status < b.kind + b.name + b.status ? -1 : 1))
}
