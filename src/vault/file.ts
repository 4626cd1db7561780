/**
 * File-level safety: atomic replace with fsync of file and directory, a `.bak` of the previous
 * version, a cross-process write lock, and files created 0600. The lock makes the fixed temp
 * names safe: only the lock holder ever writes them.
 */
import {closeSync, constants, fstatSync, openSync, promises as fs, readFileSync} from 'node:fs'
import path from 'node:path'

import {fileError, KeywardError} from '../errors/index.js'

const PRIVATE_FILE = 0o600
const PRIVATE_DIR = 0o700

export async function readVaultBytes(file: string): Promise<Buffer> {
  try {
    // One synchronous read: fs.promises.readFile goes through the thread pool in 512 KiB
    // steps, which costs a CLI command more than the read itself.
    return readFileSync(file)
  } catch (err) {
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

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, constants.O_RDONLY)
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function writeSynced(file: string, data: Buffer): Promise<void> {
  const handle = await fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, PRIVATE_FILE)
  try {
    // A leftover temp file from a killed writer may carry another mode; ours is always 0600.
    await handle.chmod(PRIVATE_FILE)
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Replaces `file` with `data` so that a crash at any instant leaves either the old or the new
 * version in place, never a mix. The old version is kept as `<file>.bak`.
 * Call only while holding the write lock.
 */
export async function replaceFile(file: string, data: Buffer, beforeRename?: () => void): Promise<void> {
  const dir = path.dirname(file)
  const tmp = `${file}.tmp`
  try {
    await ensurePrivateDir(dir)
    await writeSynced(tmp, data)
    if (await exists(file)) await keepBackup(file)
    beforeRename?.()
    await fs.rename(tmp, file)
    await fsyncDir(dir)
  } catch (err) {
    await fs.rm(tmp, {force: true}).catch(() => {})
    if (err instanceof KeywardError) throw err
    throw fileError(err, 'vault', file)
  }
}

/** `<file>.bak` becomes the current version: a hard link is instant and atomic; copy where links are refused. */
async function keepBackup(file: string): Promise<void> {
  const bak = `${file}.bak`
  const bakTmp = `${bak}.tmp`
  await fs.rm(bakTmp, {force: true})
  try {
    await fs.link(file, bakTmp)
  } catch {
    await fs.copyFile(file, bakTmp)
    await fs.chmod(bakTmp, PRIVATE_FILE)
  }
  await fs.rename(bakTmp, bak)
}

/**
 * Creates a new private file that must not exist yet (a key file). The content is complete
 * and synced before the name appears, and an existing file is never replaced.
 */
export async function createPrivateFile(file: string, data: Buffer, what: string): Promise<void> {
  const dir = path.dirname(file)
  await ensurePrivateDir(dir)
  const tmp = `${file}.${process.pid}.tmp`
  try {
    await writeSynced(tmp, data)
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

export async function acquireWriteLock(file: string): Promise<WriteLock> {
  await ensurePrivateDir(path.dirname(file))
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
        `vault ${file} is busy: another keyward process is writing it; retry, or raise KEYWARD_LOCK_TIMEOUT (now ${timeout / 1000}s)`,
      )
    }
    throw fileError(err, 'vault lock', `${file}.lock`)
  }
  return {
    assertHeld() {
      if (compromised) {
        throw new KeywardError('VAULT_BUSY', `lost the write lock on vault ${file} (${compromised.message}); nothing was written, retry`)
      }
    },
    async release() {
      await release().catch(() => {})
    },
  }
}

/**
 * Refuses a secret file other users can read, as ssh does for private keys. Synchronous: the
 * file is tiny, and three thread-pool round trips cost a short command more than the reads.
 */
export async function readPrivateFile(file: string, what: string): Promise<Buffer> {
  let fd: number
  try {
    fd = openSync(file, constants.O_RDONLY)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KeywardError('FILE_ACCESS', `${what} ${file} does not exist; check the path`)
    }
    throw fileError(err, what, file)
  }
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) throw new KeywardError('FILE_ACCESS', `${what} ${file} is not a regular file`)
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0')
      throw new KeywardError('FILE_ACCESS', `${what} ${file} is accessible by other users (mode ${mode}); run \`chmod 600 ${file}\``)
    }
    if (stat.size > 64 * 1024) throw new KeywardError('INVALID_INPUT', `${what} ${file} is too large to be one`)
    return readFileSync(fd)
  } catch (err) {
    if (err instanceof KeywardError) throw err
    throw fileError(err, what, file)
  } finally {
    closeSync(fd)
  }
}
