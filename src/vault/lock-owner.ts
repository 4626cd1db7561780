/**
 * Who holds a write lock: a small file in the lock directory naming the holder's process (pid,
 * host, and on Linux its start time, so that a reused pid is not taken for it). It lets a waiter
 * on the same machine tell a holder that died (its lock is taken over at once) from one that is
 * alive (its lock is judged by its heartbeat, watched on the monotonic clock: lock-age.ts), with
 * no help from the wall clock, which a step (NTP, a resumed VM) makes lie.
 */
import {readFileSync} from 'node:fs'
import os from 'node:os'

export const OWNER_FILE = 'owner'

interface Owner {
  pid: number
  host: string
  /** /proc/<pid>/stat's start time, in clock ticks since boot (Linux). */
  start?: string
}

/** A process's start time, or undefined where /proc does not say. */
function startOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

let self: Owner | undefined

/** What this process writes as a lock's owner. */
export function ownerText(): string {
  self ??= {pid: process.pid, host: os.hostname(), start: startOf(process.pid)}
  return `${JSON.stringify(self)}\n`
}

export type Holder = 'self' | 'alive' | 'dead' | 'unknown'

/** Who holds the lock `lockPath`, as far as this machine can tell. */
export function holderOf(lockPath: string): Holder {
  let owner: Owner
  try {
    owner = JSON.parse(readFileSync(`${lockPath}/${OWNER_FILE}`, 'utf8')) as Owner
  } catch {
    // Not written yet (the holder is between its mkdir and this file), or by an older keyward.
    return 'unknown'
  }
  if (!Number.isSafeInteger(owner.pid) || owner.pid <= 0 || owner.host !== os.hostname()) return 'unknown'
  if (owner.pid === process.pid) {
    ownerText()
    // This process's pid, from an earlier boot (or an earlier process given the same pid): dead.
    return owner.start === self!.start ? 'self' : 'dead'
  }
  try {
    process.kill(owner.pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return 'dead'
  }
  // Alive, or another user's (EPERM): the same process only if it started when the owner did.
  const start = owner.start === undefined ? undefined : startOf(owner.pid)
  return start !== undefined && start !== owner.start ? 'dead' : 'alive'
}
