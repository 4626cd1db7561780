/**
 * Calls, refusals and rate-limited requests per minute, in total, per caller and per tool, kept
 * as records are indexed, for the last day only (what the charts show): a chart then sums at
 * most 1,440 minutes instead of reading a million rows, and memory is bounded by one day of
 * traffic whatever the log's length.
 */

/** Minutes kept: a day, and an hour of slack for clocks and windows that end in the future. */
const KEEP_MINUTES = 25 * 60

export interface Minute {
  /** By category (index 1 to 3; 0 unused). */
  totals: Uint32Array
  /** `code(group, id, category)` -> count. */
  groups: Map<number, number>
}

export type GroupKind = 0 | 1 // 0: caller, 1: tool or subject

/** One number for (kind, dictionary id, category): Map keys stay small integers. */
export function code(kind: GroupKind, id: number, category: number): number {
  return (id * 2 + kind) * 4 + category
}

export function decode(c: number): {kind: GroupKind; id: number; category: number} {
  return {category: c % 4, kind: (Math.floor(c / 4) % 2) as GroupKind, id: Math.floor(c / 8)}
}

export class MinuteCounts {
  private readonly minutes = new Map<number, Minute>()
  private last?: {minute: number; counts: Minute}
  private newest = -Infinity

  constructor(private readonly now: () => number = Date.now) {}

  add(ts: number, category: number, caller: number, subject: number): void {
    const minute = Math.floor(ts / 60_000)
    if (minute < Math.floor(this.now() / 60_000) - KEEP_MINUTES) return
    let counts = this.last?.minute === minute ? this.last.counts : this.minutes.get(minute)
    if (!counts) {
      counts = {totals: new Uint32Array(4), groups: new Map()}
      this.minutes.set(minute, counts)
      if (minute > this.newest) this.prune((this.newest = minute))
    }
    this.last = {minute, counts}
    counts.totals[category]++
    const byCaller = code(0, caller, category)
    const bySubject = code(1, subject, category)
    counts.groups.set(byCaller, (counts.groups.get(byCaller) ?? 0) + 1)
    counts.groups.set(bySubject, (counts.groups.get(bySubject) ?? 0) + 1)
  }

  /** The counts of each minute in [from, to) (ms), oldest first, with the minute's start. */
  *between(from: number, to: number): Iterable<[start: number, counts: Minute]> {
    for (let m = Math.floor(from / 60_000); m * 60_000 < to; m++) {
      const counts = this.minutes.get(m)
      if (counts && m * 60_000 >= from) yield [m * 60_000, counts]
    }
  }

  private prune(newest: number): void {
    // Minutes arrive nearly in order, so the oldest are at the front of the map.
    for (const m of this.minutes.keys()) {
      if (m >= newest - KEEP_MINUTES) break
      this.minutes.delete(m)
    }
  }
}
