/**
 * The pin diff of an upstream as the console shows it, and its approval: what `upstream diff`
 * and `upstream approve` do, through the same functions (src/cli/pins.ts, src/upstreams). Every
 * text an upstream wrote is escaped here (invisible and control characters shown as \u{…}); the
 * page then shows it as text. The page sends back the token of what it showed: a change recorded
 * since is not approved blind.
 */
import {createHash} from 'node:crypto'

import {approveShown, pendingOf} from '../../cli/pins.js'
import type {Session} from '../../cli/session.js'
import {KeywardError} from '../../errors/index.js'
import {findUpstream} from '../../upstreams/index.js'
import {pinsFor, upstreamDiff} from '../../upstreams/pin-store.js'
import {canonicalJson, pinRows, type PinDiff} from '../../upstreams/pins.js'
import {scanDefinition, type Finding} from '../../upstreams/scan.js'
import {escapeCut, escapeName, escapeText} from '../../text/visible.js'
import type {VaultData} from '../../vault/index.js'

export interface PinView {
  available: true
  /** Items pinned (served), and held back. */
  pinned: number
  changes: {kind: string; name: string; change: string; renamedFrom?: string; since: string; fields: {path: string; before?: string; after?: string}[]}[]
  findings: Finding[]
  /** What was shown, for the approval. */
  token: string
}

/** A value of a diff as the page shows it: approving takes all of it, so a cut says how much it left out (review: a schema's tail past 2,000 characters went unseen). */
const shown = (value: unknown, upstream: string) =>
  value === undefined ? undefined : escapeCut(typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? 'undefined'), 20_000, `\`keyward upstream diff ${upstream} --json\` shows them all`)

function tokenOf(data: VaultData, name: string, diffs: readonly PinDiff[]): string {
  return createHash('sha256').update(canonicalJson(pendingOf(pinsFor(data, name), diffs))).digest('hex')
}

export function pinView(data: VaultData, name: string): PinView {
  findUpstream(data, name)
  const diffs = upstreamDiff(data, name)
  const pending = pinsFor(data, name)?.pending ?? {}
  const findings = diffs.flatMap((d) => (d.change === 'removed' ? [] : scanDefinition(d.kind, {...pending[`${d.kind}:${d.name}`]?.definition, name: d.name})))
  return {
    available: true,
    pinned: pinRows(pinsFor(data, name)).filter((r) => r.status === 'pinned').length,
    changes: diffs.map((d) => ({
      kind: d.kind,
      name: escapeName(d.name),
      change: d.change,
      ...(d.renamedFrom ? {renamedFrom: escapeName(d.renamedFrom)} : {}),
      since: d.since,
      fields: d.fields.map((f) => ({path: escapeText(f.path, 200), before: shown(f.before, name), after: shown(f.after, name)})),
    })),
    findings,
    token: tokenOf(data, name, diffs),
  }
}

/** Approves every change the page showed (its token), as `upstream approve NAME` does. */
export async function approveAll(session: Session, data: VaultData, name: string, token: string): Promise<{approved: number; dropped: number}> {
  findUpstream(data, name)
  const diffs = upstreamDiff(data, name)
  if (diffs.length === 0) throw new KeywardError('NOT_FOUND', `nothing of ${name} awaits approval`)
  if (token !== tokenOf(data, name, diffs)) throw new KeywardError('INVALID_INPUT', `${name} changed again since the changes were shown; nothing was approved: look again`)
  const approval = await approveShown(session, name, pinsFor(data, name), diffs)
  return {approved: approval.pinned.length, dropped: approval.dropped.length}
}
