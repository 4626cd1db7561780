/**
 * Where the audit log lives: the live file, its head file, and the segments rotated out of it.
 * A segment is named after the first sequence number it holds (`audit.jsonl.000000000001`), so
 * listing them in name order lists the chain in order.
 */
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {defaultStateDir} from '../vault/index.js'

export const AUDIT_FILE = 'audit.jsonl'

/** --audit-log beats KEYWARD_AUDIT_LOG, which beats `keyward config set audit.path`, which beats the default. */
export function resolveAuditPath(flag: string | undefined, configured: string | undefined, env = process.env): string {
  return path.resolve(flag || env.KEYWARD_AUDIT_LOG || configured || path.join(defaultStateDir(env), AUDIT_FILE))
}

export function headPath(file: string): string {
  return `${file}.head`
}

export function segmentPath(file: string, firstSeq: number): string {
  return `${file}.${String(firstSeq).padStart(12, '0')}`
}

/** The rotated segments, oldest first, then the live file: the whole chain, in order. */
export async function chainFiles(file: string): Promise<string[]> {
  const dir = path.dirname(file)
  const base = path.basename(file)
  let names: string[]
  try {
    names = await fs.readdir(dir)
  } catch {
    return []
  }
  const segments = names.filter((n) => n.startsWith(`${base}.`) && /^\d{12}$/.test(n.slice(base.length + 1))).sort()
  const out = segments.map((n) => path.join(dir, n))
  if (names.includes(base)) out.push(file)
  return out
}

/** The first line of a file (up to 64 KiB), without reading the rest. */
export async function firstLine(file: string): Promise<string | undefined> {
  const handle = await fs.open(file, 'r')
  try {
    const buf = Buffer.alloc(64 * 1024)
    const {bytesRead} = await handle.read(buf, 0, buf.length, 0)
    const text = buf.subarray(0, bytesRead).toString('utf8')
    const nl = text.indexOf('\n')
    return nl === -1 ? (text.length > 0 ? text : undefined) : text.slice(0, nl)
  } finally {
    await handle.close()
  }
}

/** The last complete line of a file, read from its end. */
export async function lastLine(file: string): Promise<string | undefined> {
  const handle = await fs.open(file, 'r')
  try {
    const {size} = await handle.stat()
    let chunk = 4096
    for (;;) {
      const start = Math.max(0, size - chunk)
      const buf = Buffer.alloc(size - start)
      await handle.read(buf, 0, buf.length, start)
      const text = buf.toString('utf8').replace(/\n+$/, '')
      const nl = text.lastIndexOf('\n')
      if (nl !== -1 || start === 0) return text.slice(nl + 1) || undefined
      chunk *= 4
    }
  } finally {
    await handle.close()
  }
}
