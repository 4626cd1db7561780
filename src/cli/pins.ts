/**
 * What the upstream commands share about pins, the scanner and the sandbox: recording a look at
 * an upstream (pins on first use, pending changes after, each audited), and printing findings,
 * diffs and pins. Every text an upstream wrote is printed escaped (src/upstreams/scan.ts): a
 * description can hold terminal escapes or invisible characters, and never reaches the terminal raw.
 */
import type {Logger} from '../server/log.js'
import type {ProbeResult} from '../server/gateway/probe.js'
import type {UpstreamContext} from '../server/gateway/resolve.js'
import {recordTested, type UpstreamDefinition, type UpstreamTested} from '../upstreams/index.js'
import {configOf} from '../config/index.js'
import {KeywardError} from '../errors/index.js'
import {givenPaths} from '../upstreams/isolation.js'
import {pinsFor, recordListing, setPins} from '../upstreams/pin-store.js'
import {approvePins, canonicalJson, diffPins, type Approval, type Listing, type PinDiff, type PinRow, type Review, type ReviewOptions, type UpstreamPins} from '../upstreams/pins.js'
import {scanDefinition, scanListing, type Finding} from '../upstreams/scan.js'
import {escapeCut, escapeName, escapeText} from '../text/visible.js'
import type {VaultData} from '../vault/index.js'
import type {Session} from './session.js'
import {style} from './style.js'
import {renderTable, shortTime} from './table.js'
import {withUpstreamFetch} from './upstream-tokens.js'

export function upstreamContext(session: Session): UpstreamContext {
  return {vaultId: session.vault.header.vault_id, vaultFile: session.file, hidden: givenPaths(session.material)}
}

export function pinSettings(data: VaultData): {onChange: 'block' | 'warn'; onFinding: 'block' | 'warn'} {
  const config = configOf(data)
  return {onChange: config.get('pins.on-change') === 'warn' ? 'warn' : 'block', onFinding: config.get('scan.on-finding') === 'block' ? 'block' : 'warn'}
}

export interface Look {
  review: Review
  findings: Finding[]
}

/** Records what an upstream listed (`add`, `test`, `scan --live`, `diff --live`): pins on first use, changes after; each change audited. */
export async function recordLook(session: Session, upstream: string, listing: Listing): Promise<Look> {
  const findings = scanListing(listing)
  const settings = pinSettings(session.vault.data)
  const options: ReviewOptions = {now: new Date().toISOString(), onChange: settings.onChange, ...(settings.onFinding === 'block' ? {hold: (kind, def) => scanDefinition(kind, def).length > 0} : {})}
  const review = await session.update((vault) => recordListing(vault.data, upstream, listing, options))
  for (const event of review.events) {
    await session.audit({event: event.type, upstream, kind: event.kind, name: event.name, hash: event.hash, ...(event.before ? {before: event.before} : {}), ...(event.renamedFrom ? {renamed_from: event.renamedFrom} : {})})
  }
  return {review, findings}
}

/**
 * Records the era and revision a probe found on the definition it started (`upstream test`,
 * `add`), for `upstream list` and `show`; null when not recorded (the definition changed
 * meanwhile). No definition change: a running serve restarts nothing for it.
 */
export async function recordEra(session: Session, def: UpstreamDefinition, probe: ProbeResult): Promise<UpstreamTested | null> {
  const found: UpstreamTested = {era: probe.era, protocolVersion: probe.protocolVersion ?? '', at: new Date().toISOString()}
  return (await session.update((vault) => recordTested(vault.data, def, found))) ? found : null
}

/** Lines saying what a look found: first-use pins, changes held back, scanner findings. */
export function lookLines(upstream: string, look: Look): string[] {
  const lines: string[] = []
  const {review} = look
  if (review.firstUse) {
    const pinned = Object.values(review.state.items).length
    lines.push(`Pinned ${pinned} definitions of ${upstream} (first use): a later change is held back until \`keyward upstream approve ${upstream}\`.`)
  }
  const pending = diffPins(review.state)
  if (pending.length > 0) lines.push(style.yellow(`${pending.length} change(s) await approval: ${pending.map((d) => `${d.kind} ${escapeName(d.name)} (${d.change})`).join(', ')}; see \`keyward upstream diff ${upstream}\`.`))
  if (look.findings.length > 0) {
    lines.push(style.yellow(`The scanner found ${look.findings.length} thing(s) addressed to the model rather than describing a tool:`))
    lines.push(...findingLines(look.findings))
  }
  return lines
}

export function findingLines(findings: readonly Finding[]): string[] {
  return findings.map((f) => `  ${f.kind} ${f.item}  ${f.field}  ${style.bold(f.rule)}: ${f.excerpt}`)
}

/** A value of a diff as shown: approving takes all of it, so a cut says how much it left out. */
function shown(value: unknown): string {
  return escapeCut(typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? 'undefined', 400, '--json shows them all')
}

/** `upstream diff`: each change, field by field, before and after. */
export function diffLines(diffs: readonly PinDiff[]): string[] {
  const out: string[] = []
  for (const d of diffs) {
    const label = d.change === 'changed' ? (d.renamedFrom ? `renamed from ${escapeName(d.renamedFrom)}, changed` : 'changed') : d.change === 'flagged' ? 'held back by the scanner (first use)' : d.change
    out.push(`${style.bold(`${d.kind} ${escapeName(d.name)}`)}: ${label} (${shortTime(d.since)})`)
    for (const f of d.fields) {
      out.push(`  ${escapeText(f.path, 200)}`)
      if (f.before !== undefined) out.push(`    ${style.red(`- ${shown(f.before)}`)}`)
      if (f.after !== undefined) out.push(`    ${style.green(`+ ${shown(f.after)}`)}`)
    }
  }
  return out
}

export function pinsTable(rows: readonly PinRow[]): string {
  return renderTable(
    ['KIND', 'NAME', 'STATUS', 'HASH', 'SINCE'],
    rows.map((r) => [r.kind, escapeName(r.name), r.status === 'quarantined' ? `quarantined (${r.change})` : r.status, r.hash.slice(0, 12), shortTime(r.since)]),
  )
}

/**
 * Starts the upstream once, exactly as serve would, and lists what it offers: an upstream that
 * takes OAuth with its tokens (renewed and saved if they expired). A sandbox that cannot start is
 * a SANDBOX_UNAVAILABLE error first.
 */
export async function probeFor(session: Session, def: UpstreamDefinition, options: {version: string; timeoutMs: number; log?: Logger}): Promise<ProbeResult> {
  await checkIsolation(def)
  const {probeUpstream} = await import('../server/gateway/probe.js')
  const log = options.log ?? (() => {})
  try {
    return await withUpstreamFetch(session, def, session.vault.data, log, (fetch) =>
      probeUpstream(def, session.vault.data, {timeoutMs: options.timeoutMs, version: options.version, log, context: upstreamContext(session), fetch}),
    )
  } catch (err) {
    if (err instanceof KeywardError) throw err
    throw new KeywardError('UPSTREAM_FAILED', (err as Error).message)
  }
}

/** Refuses a sandboxed upstream where no sandbox can start (not Linux, no bubblewrap, no namespaces), with how to fix it. */
export async function checkIsolation(def: UpstreamDefinition): Promise<void> {
  if (def.transport !== 'stdio' || !def.sandbox) return
  const {checkSandboxSupport} = await import('../server/gateway/sandbox.js')
  await checkSandboxSupport(def.network !== false)
}

/** What --json shows of a look. */
export function lookJson(look: Look): {firstUse: boolean; pinned: number; pending: PinDiff[]; findings: Finding[]} {
  return {firstUse: look.review.firstUse, pinned: Object.keys(look.review.state.items).length, pending: diffPins(look.review.state), findings: look.findings}
}

/** The pending records (and missing pins) behind the chosen changes: what approval would pin or drop. */
export function pendingOf(state: UpstreamPins | undefined, chosen: readonly PinDiff[]): unknown[] {
  return chosen.map((d) => {
    const key = `${d.kind}:${d.name}`
    return d.change === 'removed' ? {key, missing: state?.items[key]?.missingSince ?? null} : {key, hash: state?.pending[key]?.hash ?? null}
  })
}

/**
 * Approves the chosen changes as they were shown (`shown`: the upstream's pins then), each
 * audited; nothing, if the upstream changed again since (`upstream approve`, and the console).
 */
export async function approveShown(session: Session, name: string, shown: UpstreamPins | undefined, chosen: readonly PinDiff[]): Promise<Approval> {
  const approval = await session.update((vault) => {
    const current = pinsFor(vault.data, name)
    // What is approved is exactly what was shown: a change recorded since then is not approved blind.
    if (canonicalJson(pendingOf(current, chosen)) !== canonicalJson(pendingOf(shown, chosen))) {
      throw new KeywardError('INVALID_INPUT', `${name} changed again since the changes were shown; nothing was approved, run \`keyward upstream diff ${name}\` and approve again`)
    }
    const result = approvePins(current, chosen.map((d) => `${d.kind}:${d.name}`), new Date().toISOString())
    setPins(vault.data, name, result.state)
    return result
  })
  for (const p of approval.pinned) await session.audit({event: 'pin.approved', upstream: name, kind: p.kind, name: p.name, hash: p.hash, change: p.change})
  for (const d of approval.dropped) await session.audit({event: 'pin.dropped', upstream: name, kind: d.kind, name: d.name})
  return approval
}
