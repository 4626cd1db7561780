/**
 * Where an audit log lives. One log per vault: `$XDG_STATE_HOME/keyward/audit/<vault id>.jsonl`
 * (its MAC key is the vault's, so two vaults never share a chain). Beside the live file:
 *
 * - `<log>.head`: the chain's end, MACed, so a cut-off tail is seen;
 * - `<log>.000000000001`, `<log>.000000001234.gz`: segments rotated out of it, named after the
 *   first sequence number they hold (listing them in name order lists the chain in order);
 *   compressed once rotated;
 * - `<log>.checkpoint`: where the kept chain starts once old segments were dropped (`audit.keep`).
 *
 * And, apart from the log, in the state directory: a marker saying that this log was started,
 * so that deleting the whole log (live file, head and segments) is reported, not taken for a log
 * that was never written.
 */
import {createHash} from 'node:crypto'
import {constants, promises as fs} from 'node:fs'
import path from 'node:path'

import {KeywardError} from '../errors/index.js'
import {defaultStateDir, ensurePrivateDir} from '../vault/index.js'

/** The one log all vaults shared before logs were per vault; left as it was, readable with --audit-log. */
export const SHARED_LOG_FILE = 'audit.jsonl'
const AUDIT_DIR = 'audit'
const MARKER_DIR = 'audit-started'

/** The default log of one vault. */
export function defaultAuditPath(vaultId: string, env = process.env): string {
  // The id comes from the vault's header: a UUID. Anything else must not become a path.
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(vaultId)) throw new KeywardError('VAULT_DAMAGED', 'the vault id is not a plain identifier; the vault header is damaged')
  return path.join(defaultStateDir(env), AUDIT_DIR, `${vaultId}.jsonl`)
}

/** --audit-log beats KEYWARD_AUDIT_LOG, which beats `keyward config set audit.path`, which beats the vault's default. */
export function resolveAuditPath(flag: string | undefined, configured: string | undefined, vaultId: string, env = process.env): string {
  const chosen = flag || env.KEYWARD_AUDIT_LOG || configured
  return chosen ? path.resolve(chosen) : defaultAuditPath(vaultId, env)
}

/**
 * Said once per user (the first time a command or server resolves a default log while the old
 * shared one exists): why there is a new file, and where the old one is. A README in the audit
 * directory makes "once" hold across processes, and stays there to explain the layout.
 */
export async function sharedLogNote(file: string, env = process.env): Promise<string | undefined> {
  const shared = await sharedLogBeside(file, env)
  if (!shared) return undefined
  const text = [
    'keyward keeps one audit log per vault in this directory: <vault id>.jsonl, its .head,',
    'its rotated segments (.000000000001, compressed: .gz) and its .checkpoint.',
    `Earlier versions wrote one log for every vault, ${shared}; it is left as it was.`,
    `Read or check it with: keyward audit verify --audit-log ${shared}`,
    '',
  ].join('\n')
  try {
    await ensurePrivateDir(path.dirname(file))
    await fs.writeFile(path.join(path.dirname(file), 'README'), text, {flag: 'wx', mode: 0o600})
  } catch {
    return undefined // written before (or not writable): said already, or nowhere to keep "said"
  }
  return `the audit log is now one per vault: ${file}. The shared log of earlier versions, ${shared}, is left as it was; check it with \`keyward audit verify --audit-log ${shared}\``
}

/** The shared log of earlier versions, when `file` is a default per-vault log and that old log exists. */
export async function sharedLogBeside(file: string, env = process.env): Promise<string | undefined> {
  const stateDir = defaultStateDir(env)
  if (path.dirname(file) !== path.join(stateDir, AUDIT_DIR)) return undefined
  const shared = path.join(stateDir, SHARED_LOG_FILE)
  return (await fs.lstat(shared).then(() => true, () => false)) ? shared : undefined
}

export function headPath(file: string): string {
  return `${file}.head`
}

export function checkpointPath(file: string): string {
  return `${file}.checkpoint`
}

export function segmentPath(file: string, firstSeq: number): string {
  return `${file}.${String(firstSeq).padStart(12, '0')}`
}

/** The marker that says `file` was started, kept in the state directory, away from the log. */
export function startedMarkerPath(file: string, env = process.env): string {
  const id = createHash('sha256').update(path.resolve(file)).digest('hex').slice(0, 32)
  return path.join(defaultStateDir(env), MARKER_DIR, id)
}

/**
 * Makes the marker (once a record of the log is on disk: see AuditLog); true when it is there
 * now, made by this call or before. False when it cannot be made (a full disk): the writer tries
 * again with its next batch.
 */
export async function markStarted(file: string, env = process.env): Promise<boolean> {
  const marker = startedMarkerPath(file, env)
  try {
    await ensurePrivateDir(path.dirname(marker))
    const handle = await fs.open(marker, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
    // Its existence is the fact; the content only helps a person (and may not fit on a full disk).
    await handle.writeFile(`${JSON.stringify({log: path.resolve(file), started: new Date().toISOString()})}\n`).catch(() => {})
    await handle.close()
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EEXIST'
  }
}

export async function wasStarted(file: string, env = process.env): Promise<boolean> {
  return fs.lstat(startedMarkerPath(file, env)).then(() => true, () => false)
}

const SEGMENT = /^(\d{12})(\.gz)?$/

export interface Segment {
  file: string
  firstSeq: number
  compressed: boolean
}

/**
 * The rotated segments, oldest first. A segment found both plain and compressed (compression was
 * interrupted after the rename) counts once, plain: that copy is certainly whole.
 */
export async function listSegments(file: string): Promise<Segment[]> {
  const dir = path.dirname(file)
  const base = path.basename(file)
  let names: string[]
  try {
    names = await fs.readdir(dir)
  } catch {
    return []
  }
  const bySeq = new Map<number, Segment>()
  for (const name of names) {
    if (!name.startsWith(`${base}.`)) continue
    const m = SEGMENT.exec(name.slice(base.length + 1))
    if (!m) continue
    const firstSeq = Number(m[1])
    const compressed = m[2] !== undefined
    if (compressed && bySeq.has(firstSeq)) continue
    bySeq.set(firstSeq, {file: path.join(dir, name), firstSeq, compressed})
  }
  return [...bySeq.values()].sort((a, b) => a.firstSeq - b.firstSeq)
}

/** The first sequence number a line names, read without the key (`{"seq":N,...`). */
export function seqOf(line: string): number | undefined {
  const m = /^\{"seq":(\d{1,15}),/.exec(line)
  return m ? Number(m[1]) : undefined
}
