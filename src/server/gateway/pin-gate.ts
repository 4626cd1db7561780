/**
 * Where the gateway meets the pins: each time an upstream connection lists what it offers, the
 * gate compares it with the upstream's pins in the vault (src/upstreams/pins.ts) and says which
 * items may be served. It pins on first use, records what changed in the vault (so that
 * `upstream diff` and `approve` can show and accept it), and audits and logs each change once.
 *
 * Where this process does not write the vault (a replica on Redis), or until the write lands,
 * the first-use pins are kept in memory; the vault's own pins win as soon as it has some.
 */
import type {AuditEvent} from '../../audit/index.js'
import {pinsFor, recordListing} from '../../upstreams/pin-store.js'
import {review, type Definition, type Listing, type PinEvent, type PinKind, type ReviewOptions, type UpstreamPins} from '../../upstreams/pins.js'
import {scanDefinition, type Finding} from '../../upstreams/scan.js'
import {escapeName} from '../../text/visible.js'
import type {VaultData} from '../../vault/index.js'
import type {Logger} from '../log.js'

export type Admitted = Partial<Record<PinKind, ReadonlySet<string>>>

/**
 * How a listing reaches the gate. fresh: the upstream just listed it (record what is new);
 * otherwise the pins changed and the same listing is decided again (nothing recorded). partial:
 * one client session's own connection, which may not list all the upstream offers.
 */
export interface Admission {
  fresh: boolean
  partial: boolean
}

/** What an upstream source asks: of what it listed, which names may be served. */
export interface ItemGate {
  admit(upstream: string, listing: Listing, how: Admission): Admitted
}

export interface PinGateOptions {
  /** The vault as last loaded. */
  data(): VaultData
  settings(): {onChange: 'block' | 'warn'; onFinding: 'block' | 'warn'}
  /** Applies a change to the vault and reloads it; absent where this process must not write the vault. */
  update?(change: (data: VaultData) => void): Promise<void>
  audit(event: AuditEvent): void
  log: Logger
}

/** A listing that last passed the pins without a change or a report: the same text is served alike. */
interface SteadyListing {
  pins: UpstreamPins
  text: string
  partial: boolean
  onChange: 'block' | 'warn'
  hold: boolean
  served: Admitted
}

/** Reported changes are remembered up to this many, so that each is logged and audited once. */
const MAX_REPORTED = 10_000

export class PinGate implements ItemGate {
  private readonly memory = new Map<string, UpstreamPins>()
  private readonly reported = new Set<string>()
  private readonly steady = new Map<string, SteadyListing>()
  private writes = Promise.resolve()

  constructor(private readonly options: PinGateOptions) {}

  /** The pins that decide for `upstream`: the vault's, else those taken in memory at first use. */
  private pinsOf(upstream: string): UpstreamPins | undefined {
    const stored = pinsFor(this.options.data(), upstream)
    if (stored) this.memory.delete(upstream)
    return stored ?? this.memory.get(upstream)
  }

  /** Changes whenever what the gate would decide for `upstream` may change: its pins, or the settings. */
  stamp(upstream: string): string {
    // A change detector only: the vault keeps a record's key order, so plain JSON will do.
    return JSON.stringify([this.pinsOf(upstream) ?? null, this.options.settings()])
  }

  admit(upstream: string, listing: Listing, how: Admission): Admitted {
    const options = {...this.reviewOptions(), partial: how.partial}
    const previous = this.pinsOf(upstream)
    // The steady state: the very listing admitted last time, against the same pins and settings,
    // when that review changed and reported nothing. Comparing the whole text (exactly, no hash)
    // costs a fraction of fingerprinting every item again.
    const text = JSON.stringify(listing)
    const last = this.steady.get(upstream)
    if (last && last.pins === previous && last.text === text && last.partial === how.partial && last.onChange === options.onChange && last.hold === (options.hold !== undefined)) return last.served
    const result = review(previous, listing, options)
    const quiet = !result.changed && !result.firstUse && result.events.length === 0 && result.refused.length === 0
    if (quiet && previous) this.steady.set(upstream, {pins: previous, text, partial: how.partial, onChange: options.onChange, hold: options.hold !== undefined, served: result.served})
    else this.steady.delete(upstream)
    // Deciding again (an approval landed) records nothing: only what an upstream lists is news.
    if (!how.fresh) return result.served
    for (const r of result.refused) this.once(`refused|${upstream}|${r.kind}|${r.name}|${r.why}`, () => this.options.log('warn', `upstream ${upstream}: ${r.kind} ${escapeName(r.name)} is not served: its definition is ${r.why}`))
    if (result.firstUse) {
      this.memory.set(upstream, result.state)
      this.reportFirstUse(upstream, listing, result.state)
    }
    const held = (event: PinEvent) => result.served[event.kind]?.has(event.name) !== true
    for (const event of result.events) this.report(upstream, event, true, held(event))
    // Changes recorded before (by another run, or `upstream test`): logged once by this process too, not audited again.
    for (const pending of Object.values(result.state.pending)) {
      if (pending.change === 'flagged' || !listing[pending.kind]?.some((d) => d.name === pending.name)) continue
      const event: PinEvent = {type: pending.change === 'added' ? 'pin.added' : 'pin.changed', kind: pending.kind, name: pending.name, hash: pending.hash, ...(pending.renamedFrom ? {renamedFrom: pending.renamedFrom} : {})}
      this.report(upstream, event, false, held(event))
    }
    if (result.changed) this.persist(upstream, listing, options)
    return result.served
  }

  private reviewOptions(): ReviewOptions {
    const {onChange, onFinding} = this.options.settings()
    return {now: new Date().toISOString(), onChange, ...(onFinding === 'block' ? {hold: (kind: PinKind, def: Definition) => scanDefinition(kind, def).length > 0} : {})}
  }

  private reportFirstUse(upstream: string, listing: Listing, state: UpstreamPins): void {
    const counts = Object.entries(listing).map(([kind, defs]) => `${defs?.length ?? 0} ${kind}${defs?.length === 1 ? '' : 's'}`).join(', ')
    this.options.log('info', `upstream ${upstream}: first use, pinned what it offers (${counts}); a later change is ${this.options.settings().onChange === 'block' ? 'held back until approved' : 'reported'}`)
    const findings: Finding[] = []
    for (const [kind, defs] of Object.entries(listing) as [PinKind, Listing[PinKind]][]) for (const def of defs ?? []) findings.push(...scanDefinition(kind, def))
    for (const f of findings.slice(0, 20)) {
      const held = state.pending[`${f.kind}:${f.item}`]?.change === 'flagged'
      this.options.log('warn', `upstream ${upstream}: ${f.kind} ${f.item} ${f.field}: ${f.rule} (${f.excerpt})${held ? '; held back until approved (scan.on-finding block)' : ''}`)
    }
    if (findings.length > 20) this.options.log('warn', `upstream ${upstream}: ${findings.length - 20} more scanner findings; see \`keyward upstream scan ${upstream}\``)
  }

  /** `held`: the item is not served (pins.on-change block, or the scanner flagged it under warn). */
  private report(upstream: string, event: PinEvent, audit: boolean, held: boolean): void {
    this.once(`${upstream}|${event.type}|${event.kind}|${event.name}|${event.hash}`, () => {
      const name = escapeName(event.name)
      const blocked = this.options.settings().onChange === 'block'
      const fate = held ? `held back${blocked ? '' : ' (the scanner flags it: scan.on-finding block)'}` : 'served (pins.on-change warn)'
      const what =
        event.type === 'pin.removed'
          ? 'is no longer offered'
          : event.type === 'pin.added'
            ? `is new since the upstream was pinned; ${fate}`
            : `${event.renamedFrom ? `replaces ${escapeName(event.renamedFrom)} (a rename) and ` : ''}changed since it was pinned; ${fate}`
      const next = event.type === 'pin.removed' ? '' : `; see \`keyward upstream diff ${upstream}\`, then \`keyward upstream approve ${upstream} ${event.kind === 'tool' ? '' : `${event.kind}:`}${name}\``
      this.options.log('warn', `upstream ${upstream}: ${event.kind} ${name} ${what}${next}`)
      if (audit) this.options.audit({event: event.type, upstream, kind: event.kind, name: event.name, hash: event.hash, ...(event.before ? {before: event.before} : {}), ...(event.renamedFrom ? {renamed_from: event.renamedFrom} : {})})
    })
  }

  private once(key: string, act: () => void): void {
    if (this.reported.has(key)) return
    if (this.reported.size >= MAX_REPORTED) this.reported.clear()
    this.reported.add(key)
    act()
  }

  /** Writes the pins (first use) or the pending changes to the vault, one write at a time, each against the vault as it is then. */
  private persist(upstream: string, listing: Listing, options: ReviewOptions): void {
    const update = this.options.update
    if (!update) return
    this.writes = this.writes
      .then(() => update((data) => void recordListing(data, upstream, listing, options)))
      .catch((err: Error) => this.once(`write|${upstream}|${err.message}`, () => this.options.log('warn', `upstream ${upstream}: its pins could not be written to the vault (${err.message}); they hold in memory for this run`)))
  }

  /** Resolves when the writes queued so far are done (tests, shutdown). */
  settled(): Promise<void> {
    return this.writes
  }
}
