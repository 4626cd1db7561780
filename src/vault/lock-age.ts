/**
 * How old a lock held by another process looks to a writer waiting for it. proper-lockfile
 * judges a lock stale when its mtime (the holder's heartbeat) is older than `stale` by the wall
 * clock, Date.now(). A forward step of that clock (NTP, a laptop or VM resumed) then makes every
 * live lock look stale at once, and two writers hold one: duplicate audit sequence numbers, a
 * batch cut off under the other, a false "reordered".
 *
 * So the waiter does not compare the mtime with its clock. It watches the mtime, and reports as
 * its age how long it has seen it unchanged, on the monotonic clock: a holder that beats is never
 * stale, whatever the clocks do; one that died is stale after `stale` of watching.
 */
import type {Stats} from 'node:fs'

interface Watched {
  mtimeMs: number
  since: number
}

export interface LockAge {
  /** A stat of a lock file as proper-lockfile should see it: its mtime replaced by the age the waiter observed. */
  observed(lockPath: string, stat: Stats): Stats
  forget(lockPath: string): void
}

export function lockAge(wall: () => number = Date.now, monotonic: () => number = () => performance.now()): LockAge {
  const watched = new Map<string, Watched>()
  return {
    observed(lockPath, stat) {
      let seen = watched.get(lockPath)
      if (!seen || seen.mtimeMs !== stat.mtimeMs) watched.set(lockPath, (seen = {mtimeMs: stat.mtimeMs, since: monotonic()}))
      const mtime = new Date(wall() - (monotonic() - seen.since))
      return Object.assign(Object.create(Object.getPrototypeOf(stat) as object) as Stats, stat, {mtime, mtimeMs: mtime.getTime()})
    },
    forget(lockPath) {
      watched.delete(lockPath)
    },
  }
}
