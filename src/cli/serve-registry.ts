/**
 * Where a running `keyward serve` listens, so that `keyward ui` can find it and ask its /healthz:
 * one small file per server, `<state dir>/serve/<vault id>.<pid>.json` (0600, in a 0700
 * directory), written once the server listens and removed when it stops. A server killed
 * without a chance to remove it leaves a file whose pid is gone; readers skip it.
 */
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {createPrivateFile, defaultStateDir, headerOf, readVault} from '../vault/index.js'

export interface AnnouncedServe {
  url: string
  pid: number
  version: string
  startedAt: string
}

const DIR = 'serve'
const VAULT_ID = /^[A-Za-z0-9_-]{1,64}$/

function registryDir(env = process.env): string {
  return path.join(defaultStateDir(env), DIR)
}

/** Writes the server's file; resolves with the function that removes it. */
export async function announceServe(vaultFile: string, url: string, version: string): Promise<() => Promise<void>> {
  const vaultId = headerOf(await readVault(vaultFile)).vault_id
  if (!VAULT_ID.test(vaultId)) return async () => {}
  const file = path.join(registryDir(), `${vaultId}.${process.pid}.json`)
  // A file left by an earlier process with this pid (pids are reused) is replaced.
  await fs.rm(file, {force: true})
  const entry: AnnouncedServe = {url, pid: process.pid, version, startedAt: new Date().toISOString()}
  await createPrivateFile(file, Buffer.from(`${JSON.stringify(entry)}\n`), 'serve registry file')
  return () => fs.rm(file, {force: true})
}

/** The servers of one vault whose process is still alive. */
export async function announcedServes(vaultId: string, env = process.env): Promise<AnnouncedServe[]> {
  if (!VAULT_ID.test(vaultId)) return []
  const dir = registryDir(env)
  const names = await fs.readdir(dir).catch(() => [] as string[])
  const out: AnnouncedServe[] = []
  for (const name of names) {
    if (!name.startsWith(`${vaultId}.`) || !name.endsWith('.json')) continue
    const entry = await fs.readFile(path.join(dir, name), 'utf8').then(parseEntry, () => undefined)
    if (entry && alive(entry.pid)) out.push(entry)
  }
  return out.sort((a, b) => (a.startedAt < b.startedAt ? -1 : 1))
}

function parseEntry(text: string): AnnouncedServe | undefined {
  try {
    const e = JSON.parse(text) as Partial<AnnouncedServe>
    if (typeof e.url !== 'string' || !/^https?:\/\//.test(e.url) || !Number.isSafeInteger(e.pid)) return undefined
    return {url: e.url, pid: e.pid!, version: String(e.version ?? ''), startedAt: String(e.startedAt ?? '')}
  } catch {
    return undefined
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    // ESRCH: gone. EPERM: another user's process now has that pid; not ours to show either.
    return false
  }
}
