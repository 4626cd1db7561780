/**
 * File-level safety: atomic replace with fsync of file and directory, a `.bak` of the previous
 * version, a cross-process write lock, files created 0600, and directories checked the way
 * ssh's StrictModes checks ~/.ssh before any secret file in them is trusted or written.
 *
 * Every temporary file has a random name and is opened O_CREAT|O_EXCL|O_NOFOLLOW, so nothing
 * planted beforehand (a symlink to another file, a file owned by someone else) is ever
 * written through.
 */
import {randomBytes} from 'node:crypto'
import {closeSync, constants, fstatSync, lstatSync, openSync, promises as fs, readFileSync, readSync, realpathSync, statSync} from 'node:fs'
import path from 'node:path'

import {fileError, KeywardError} from '../errors/index.js'

const PRIVATE_FILE = 0o600
const PRIVATE_DIR = 0o700
const CREATE_EXCL = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0)

/**
 * The real path of a vault or key file: a symlinked path is followed once, so that writes go
 * to the real file (the link stays a link) and a server watches the directory that changes.
 * A path that does not exist yet resolves through its nearest existing parent.
 */
export function resolveRealPath(file: string): string {
  const absolute = path.resolve(file)
  try {
    return realpathSync(absolute)
  } catch {
    const parent = path.dirname(absolute)
    if (parent === absolute) return absolute
    return path.join(resolveRealPath(parent), path.basename(absolute))
  }
}

/**
 * Refuses a directory (and each of its parents) that another user could write to, unless it is
 * sticky and owned by the user or root (like /tmp), or that is owned by anyone else but the
 * user or root: whoever can write there can replace the vault or plant a key file.
 */
export function checkDirectoryChain(file: string, what: string): void {
  if (process.platform === 'win32' || typeof process.getuid !== 'function') return
  const uid = process.getuid()
  let dir = path.dirname(path.resolve(file))
  for (;;) {
    let stat
    try {
      stat = statSync(dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(err, 'directory', dir)
      stat = undefined // created later, 0700, by ensurePrivateDir
    }
    if (stat) {
      const mode = (stat.mode & 0o7777).toString(8).padStart(4, '0')
      const ownerOk = stat.uid === uid || stat.uid === 0
      if (!ownerOk) {
        throw new KeywardError('FILE_ACCESS', `refusing ${what} ${file}: directory ${dir} belongs to another user (uid ${stat.uid}), who could replace it; move it to a directory you own`)
      }
      const sticky = (stat.mode & 0o1000) !== 0
      if ((stat.mode & 0o022) !== 0 && !sticky) {
        throw new KeywardError('FILE_ACCESS', `refusing ${what} ${file}: directory ${dir} is writable by group or others (mode ${mode}), who could replace it; run \`chmod go-w ${dir}\``)
      }
    }
    const parent = path.dirname(dir)
    if (parent === dir) return
    dir = parent
  }
}

export async function readVaultBytes(file: string): Promise<Buffer> {
  try {
    checkDirectoryChain(file, 'vault')
    // One synchronous read: fs.promises.readFile goes through the thread pool in 512 KiB
    // steps, which costs a CLI command more than the read itself.
    return readFileSync(file)
  } catch (err) {
    if (err instanceof KeywardError) throw err
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KeywardError('VAULT_NOT_FOUND', `no vault at ${file}; create one with \`keyward init\`, or point --vault / KEYWARD_VAULT at yours`)
    }
    throw fileError(err, 'vault', file)
  }
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw fileError(err, 'file', file)
  }
}

export async function ensurePrivateDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, {recursive: true, mode: PRIVATE_DIR})
  } catch (err) {
    throw fileError(err, 'directory', dir)
  }
}

/** Makes the directory's entries (a file created, renamed or removed in it) survive a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, constants.O_RDONLY)
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** `<file>.<random>.tmp`: the suffix the cleanup below recognises as ours. */
function tempName(file: string): string {
  return `${file}.${randomBytes(6).toString('hex')}.tmp`
}

const TEMP_SUFFIX = /^\.[0-9a-f]{12}\.tmp$/

/** Writes `data` to a new file that must not exist (never through a link), 0600, synced. */
async function writeNewFile(file: string, data: Buffer): Promise<void> {
  const handle = await fs.open(file, CREATE_EXCL, PRIVATE_FILE)
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Temp files that a killed writer left beside `file`; called under the write lock, so none is in use. */
async function removeLeftoverTemps(file: string): Promise<void> {
  const dir = path.dirname(file)
  const base = path.basename(file)
  let names: string[]
  try {
    names = await fs.readdir(dir)
  } catch {
    return
  }
  for (const name of names) {
    if (!name.startsWith(base)) continue
    const rest = name.slice(base.length)
    if (TEMP_SUFFIX.test(rest) || (rest.startsWith('.bak') && TEMP_SUFFIX.test(rest.slice(4)))) {
      await fs.rm(path.join(dir, name), {force: true}).catch(() => {})
    }
  }
}

/**
 * Replaces `file` with `data` so that a crash at any instant leaves either the old or the new
 * version in place, never a mix. The old version is kept as `<file>.bak`.
 * Call only while holding the write lock.
 */
export async function replaceFile(file: string, data: Buffer, beforeReplace?: () => void | Promise<void>): Promise<void> {
  const dir = path.dirname(file)
  const tmp = tempName(file)
  try {
    await ensurePrivateDir(dir)
    checkDirectoryChain(file, 'vault')
    await removeLeftoverTemps(file)
    await writeNewFile(tmp, data)
    // Checked before the backup too: a refused replacement leaves `.bak` the real previous version.
    await beforeReplace?.()
    if (await exists(file)) await keepBackup(file)
    await fs.rename(tmp, file)
    await fsyncDir(dir)
  } catch (err) {
    await fs.rm(tmp, {force: true}).catch(() => {})
    if (err instanceof KeywardError) throw err
    throw fileError(err, 'vault', file)
  }
}

/**
 * `<file>.bak` becomes the current version: a hard link is instant and atomic; copy where links are
 * refused. A failure names the backup, not the vault: it is the backup's path that is wrong (a
 * directory there, a file not ours), and keyward chose that path, not the user.
 */
async function keepBackup(file: string): Promise<void> {
  const bak = `${file}.bak`
  const bakTmp = tempName(bak)
  try {
    try {
      await fs.link(file, bakTmp)
    } catch {
      await writeNewFile(bakTmp, await fs.readFile(file))
    }
    await fs.rename(bakTmp, bak)
  } catch (err) {
    await fs.rm(bakTmp, {force: true}).catch(() => {})
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') {
      throw new KeywardError('FILE_ACCESS', `vault backup ${bak} is a directory, where keyward keeps the vault's previous version; move it out of the way and retry`, {cause: err})
    }
    throw fileError(err, 'vault backup', bak)
  }
}

/**
 * Keeps the current version of `file` under a new timestamped name, never replacing anything:
 * for changes after which `.bak` alone would not be enough (a new vault over an old one, a new
 * unlock secret). Returns the backup's path, or undefined when there is no file.
 */
export async function keepTimestampedBackup(file: string): Promise<string | undefined> {
  if (!(await exists(file))) return undefined
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  for (let i = 0; ; i++) {
    const backup = `${file}.${stamp}${i === 0 ? '' : `-${i}`}.bak`
    try {
      await writeNewFile(backup, await fs.readFile(file))
      return backup
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || i > 100) throw fileError(err, 'backup', backup)
    }
  }
}

/**
 * Creates a new private file that must not exist yet (a key file, a key written with --out).
 * The content is complete and synced before the name appears, and an existing file is never
 * replaced.
 */
export async function createPrivateFile(file: string, data: Buffer, what: string): Promise<void> {
  const dir = path.dirname(file)
  await ensurePrivateDir(dir)
  checkDirectoryChain(file, what)
  const tmp = tempName(file)
  try {
    await writeNewFile(tmp, data)
    await fs.link(tmp, file)
    await fsyncDir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeywardError('ALREADY_EXISTS', `${what} ${file} already exists; keyward never overwrites one: choose another path`)
    }
    throw fileError(err, what, file)
  } finally {
    await fs.rm(tmp, {force: true}).catch(() => {})
  }
}

/**
 * Replaces a file that is not the vault (a client config) atomically: the new content is
 * written to a fresh 0600 temp file beside it and renamed over it.
 */
export async function replaceOtherFile(file: string, data: Buffer, what: string): Promise<void> {
  const tmp = tempName(file)
  try {
    await writeNewFile(tmp, data)
    await fs.rename(tmp, file)
  } catch (err) {
    await fs.rm(tmp, {force: true}).catch(() => {})
    throw fileError(err, what, file)
  }
}

/**
 * A file prepared in full beside its place and put there only by `commit()`: for a file that
 * must change together with a vault write. Everything that can fail for want of room or rights
 * happens before the vault is written; what is left for `commit()` is a rename in the same
 * directory.
 */
export interface StagedFile {
  commit(): Promise<void>
  abort(): Promise<void>
}

/** Stages `data` to replace `file` (not the vault: a client config), as replaceOtherFile would write it. */
export async function stageReplacement(file: string, data: Buffer, what: string): Promise<StagedFile> {
  const tmp = tempName(file)
  try {
    await writeNewFile(tmp, data)
  } catch (err) {
    await fs.rm(tmp, {force: true}).catch(() => {})
    throw fileError(err, what, file)
  }
  return {
    async commit() {
      try {
        await fs.rename(tmp, file)
        await fsyncDir(path.dirname(file))
      } catch (err) {
        await fs.rm(tmp, {force: true}).catch(() => {})
        throw fileError(err, what, file)
      }
    },
    abort: () => fs.rm(tmp, {force: true}).catch(() => {}),
  }
}

/** A new private file whose content is known only later (a key made by the vault write), reserved with `size` bytes now. */
export interface ReservedFile {
  commit(data: Buffer): Promise<void>
  abort(): Promise<void>
}

/**
 * Reserves `file` (0600, never overwriting one, like createPrivateFile): a temp file beside it
 * already holds `size` bytes, so writing the real content over them later needs no new room.
 */
export async function reserveNewFile(file: string, size: number, what: string): Promise<ReservedFile> {
  const dir = path.dirname(file)
  await ensurePrivateDir(dir)
  checkDirectoryChain(file, what)
  if (await exists(file)) throw new KeywardError('ALREADY_EXISTS', `${what} ${file} already exists; keyward never overwrites one: choose another path`)
  const tmp = tempName(file)
  try {
    await writeNewFile(tmp, Buffer.alloc(size, 0x20))
  } catch (err) {
    await fs.rm(tmp, {force: true}).catch(() => {})
    throw fileError(err, what, file)
  }
  return {
    async commit(data: Buffer) {
      if (data.length > size) throw new KeywardError('UNEXPECTED', `${what}: ${data.length} bytes do not fit the ${size} reserved`)
      try {
        const handle = await fs.open(tmp, constants.O_WRONLY | constants.O_NOFOLLOW)
        try {
          await handle.write(data, 0, data.length, 0)
          await handle.truncate(data.length)
          await handle.sync()
        } finally {
          await handle.close()
        }
        await fs.link(tmp, file)
        await fsyncDir(dir)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new KeywardError('ALREADY_EXISTS', `${what} ${file} already exists; keyward never overwrites one: choose another path`)
        throw fileError(err, what, file)
      } finally {
        await fs.rm(tmp, {force: true}).catch(() => {})
      }
    },
    abort: () => fs.rm(tmp, {force: true}).catch(() => {}),
  }
}

export interface WriteLock {
  /** Throws if the lock was lost (another process judged it stale), so the caller does not overwrite a newer vault. */
  assertHeld(): void
  release(): Promise<void>
}

/** How long a writer waits for another one before it reports "vault busy". */
function lockTimeoutMs(): number {
  const seconds = Number(process.env.KEYWARD_LOCK_TIMEOUT ?? 10)
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 10_000
}

/** A lock held by a killed writer counts as stale after this long without a heartbeat. */
const STALE_MS = 5000
const RETRY_MS = 50

/** The cross-process lock on `file` (the vault, or the audit log: `what` names it in errors). */
export async function acquireWriteLock(file: string, what = 'vault'): Promise<WriteLock> {
  await ensurePrivateDir(path.dirname(file))
  checkDirectoryChain(file, what)
  const {default: lockfile} = await import('proper-lockfile')
  let compromised: Error | undefined
  const timeout = lockTimeoutMs()
  let release: () => Promise<void>
  try {
    release = await lockfile.lock(file, {
      realpath: false,
      lockfilePath: `${file}.lock`,
      stale: STALE_MS,
      retries: {retries: Math.ceil(timeout / RETRY_MS), factor: 1, minTimeout: RETRY_MS, maxTimeout: RETRY_MS, randomize: true},
      onCompromised: (err) => {
        compromised = err
      },
    })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new KeywardError(
        'VAULT_BUSY',
        `${what} ${file} is busy: another keyward process is writing it; retry, or raise KEYWARD_LOCK_TIMEOUT (now ${timeout / 1000}s)`,
      )
    }
    throw fileError(err, `${what} lock`, `${file}.lock`)
  }
  return {
    assertHeld() {
      if (compromised) {
        throw new KeywardError('VAULT_BUSY', `lost the write lock on ${what} ${file} (${compromised.message}); nothing was written, retry`)
      }
    },
    async release() {
      await release().catch(() => {})
    },
  }
}

const MAX_PRIVATE_FILE = 64 * 1024

/**
 * Reads a small secret file (a key file, a passphrase file). A regular file must not be
 * accessible by other users and must sit in a safe directory, as ssh requires of private keys.
 * A pipe is accepted as it is, so that `--key-file <(…)` and `/dev/fd/N` work: only the
 * process that made it can read it. Synchronous: the file is tiny.
 */
export async function readPrivateFile(file: string, what: string): Promise<Buffer> {
  let fd: number
  try {
    fd = openSync(file, constants.O_RDONLY)
  } catch (err) {
    // A socket handed down as /dev/fd/N (as Node's child_process does) cannot be reopened by path; read the descriptor itself.
    const inherited = /^\/(?:dev|proc\/self)\/fd\/(\d+)$/.exec(file)
    if (inherited && (err as NodeJS.ErrnoException).code === 'ENXIO') return readLimited(Number(inherited[1]), file, what)
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KeywardError('FILE_ACCESS', `${what} ${file} does not exist; check the path`)
    }
    throw fileError(err, what, file)
  }
  try {
    const stat = fstatSync(fd)
    if (stat.isFIFO() || (stat.isSocket() && isProcessPipe(file))) return readLimited(fd, file, what)
    if (!stat.isFile()) throw new KeywardError('FILE_ACCESS', `${what} ${file} is not a regular file or a pipe`)
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0')
      throw new KeywardError('FILE_ACCESS', `${what} ${file} is accessible by other users (mode ${mode}); run \`chmod 600 ${file}\``)
    }
    checkDirectoryChain(resolveRealPath(file), what)
    if (stat.size > MAX_PRIVATE_FILE) throw new KeywardError('INVALID_INPUT', `${what} ${file} is too large to be one`)
    return readFileSync(fd)
  } catch (err) {
    if (err instanceof KeywardError) throw err
    throw fileError(err, what, file)
  } finally {
    closeSync(fd)
  }
}

function isProcessPipe(file: string): boolean {
  return /^\/(dev|proc\/self)\/fd\/\d+$/.test(file)
}

function readLimited(fd: number, file: string, what: string): Buffer {
  const chunks: Buffer[] = []
  let total = 0
  const chunk = Buffer.alloc(8192)
  for (;;) {
    let n: number
    try {
      n = readSync(fd, chunk, 0, chunk.length, null)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5) // a non-blocking pipe not written yet
      continue
    }
    if (n === 0) break
    total += n
    if (total > MAX_PRIVATE_FILE) throw new KeywardError('INVALID_INPUT', `${what} ${file} is too large to be one`)
    chunks.push(Buffer.from(chunk.subarray(0, n)))
  }
  return Buffer.concat(chunks)
}

/** True when `file` is a symbolic link (used to tell the user that writes go to its target). */
export function isSymlink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink()
  } catch {
    return false
  }
}
