/**
 * Processes as the host sees them. keyward starts upstreams in a PID namespace of their own, so
 * the pid an upstream reports is not the host's: the host pid is found by the namespace the
 * upstream names (`/proc/self/ns/pid`) and the last pid of each host process's NSpid line.
 */
import {readdirSync, readFileSync, readlinkSync} from 'node:fs'

export interface ReportedProcess {
  pid: number
  /** `pid:[4026532...]`, as /proc/self/ns/pid reads inside the upstream. */
  pidns: string
}

/** The host pid of a process that reported `pid` inside namespace `pidns`; undefined once it is gone. */
export function hostPid(proc: ReportedProcess): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) !== proc.pidns) continue
      const nspid = /^NSpid:\s+(.+)$/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1].trim().split(/\s+/)
      if (nspid && Number(nspid[nspid.length - 1]) === proc.pid) return Number(entry)
    } catch {
      // It exited while we looked.
    }
  }
  return undefined
}

export function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false
  try {
    process.kill(pid, 0)
    // A zombie is dead, though it still has a pid.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))
  } catch {
    return false
  }
}
