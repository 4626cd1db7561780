/**
 * The log as it was at one moment, for readers (`audit verify`, `audit tail`, the console): the
 * segments and the live file opened, the head and the checkpoint read, all under the log's write
 * lock, which is held only for that moment (a few opens and two small reads), so a writer waits
 * milliseconds at most. The files are then read through the open handles, after the lock is
 * released: a rotation, a compression or a retention pass that happens meanwhile changes names,
 * never what the reader sees. Listing, then opening by name, raced with rotation: the live file
 * opened by name could already be the next one, its records not yet chained to the head read.
 *
 * A reader that cannot take the lock (no write access to the directory) takes the snapshot
 * without it (`locked` false), in an order that holds without it (see take), and checks it
 * afterwards: a snapshot during which a writer moved files is taken again. The caller may also
 * look again before it believes something is wrong (verify does).
 */
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {acquireWriteLock, type WriteLock} from '../vault/index.js'
import {checkpointPath, headPath, listSegments, seqOf, type Segment} from './files.js'
import {openLogFile, type OpenedFile} from './lines.js'

export interface ChainSnapshot {
  /** The chain's files in order: the rotated segments, then the live file (if there is one). */
  files: OpenedFile[]
  /** The live file, the last of `files`; undefined when there is none (a rotation not yet followed by an append). */
  live?: OpenedFile
  headText?: string
  checkpointText?: string
  locked: boolean
  /** Closes every handle (but the live file's, once taken with `keepLive`). */
  close(): Promise<void>
  /** The live file's handle, kept open past close(): the caller closes it (a follower reads on from it). */
  keepLive(): OpenedFile | undefined
}

export async function openChain(file: string, options: {lock?: boolean} = {}): Promise<ChainSnapshot> {
  const lock = options.lock === false ? undefined : await lockIfPossible(file)
  try {
    const locked = lock !== undefined
    for (let attempt = 1; ; attempt++) {
      const taken = await take(file, locked)
      if (taken) return {...taken, locked}
      // Without the lock, a writer moved files while they were opened: take it again (at last, as it comes).
      if (attempt >= UNLOCKED_ATTEMPTS) return {...(await take(file, true))!, locked}
    }
  } finally {
    await lock?.release()
  }
}

const UNLOCKED_ATTEMPTS = 20

/**
 * One snapshot, in an order that also holds without the lock: the head before anything else (a
 * writer appends, then writes the head, so the head read names nothing the files lack), the live
 * file opened right after the segments are listed (the window in which a rotation makes the
 * listing miss a segment is one open, not the opening of every segment, which on a long chain
 * took longer than a busy writer's rotations), the checkpoint after the listing (retention writes
 * it before it drops any). Unlocked (`trust` false), it is checked afterwards: undefined when a
 * segment the snapshot lacks may hold records before its live file (see consistent).
 */
async function take(file: string, trust: boolean): Promise<Omit<ChainSnapshot, 'locked'> | undefined> {
  const files: OpenedFile[] = []
  let live: OpenedFile | undefined
  try {
    const headText = await readOrNone(headPath(file))
    const listed = await listSegments(file)
    live = await openLive(file)
    for (const segment of listed) {
      // openLogFile finds a segment compressed meanwhile under its .gz name.
      const opened = await openLogFile(segment.file).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' && !trust) return undefined // dropped meanwhile: checked below
        throw err
      })
      if (opened) files.push(opened)
    }
    const newest = files.at(-1)
    if (live && newest && !newest.compressed && newest.ino === live.ino && newest.dev === live.dev) {
      // A rotation stopped between its link and its unlink: the live file's records are the segment's.
      await live.handle.close()
      live = undefined
    }
    const checkpointText = await readOrNone(checkpointPath(file))
    if (!trust && !(await consistent(file, listed, files.length, live))) {
      await closeAll(live ? [...files, live] : files)
      return undefined
    }
    if (live) files.push(live)
    return snapshotOf(files, live, headText, checkpointText)
  } catch (err) {
    await closeAll(live && !files.includes(live) ? [...files, live] : files)
    throw err
  }
}

/**
 * Whether the files opened hold the chain without a gap, read again after they were opened: every
 * segment listed was opened (none dropped meanwhile), and no segment now lies between the newest
 * one listed and the live file opened. A segment named after the live file's first record is that
 * file, rotated out since it was opened; segments after it hold only later records. A live file
 * whose first record cannot be read yet (being created) allows no segment after those listed.
 */
async function consistent(file: string, listed: Segment[], opened: number, live: OpenedFile | undefined): Promise<boolean> {
  if (opened !== listed.length) return false
  const newestListed = listed.at(-1)?.firstSeq ?? 0
  const liveFirst = live ? await firstSeqIn(live) : undefined
  const now = await listSegments(file)
  return !now.some((s) => s.firstSeq > newestListed && (liveFirst === undefined || s.firstSeq < liveFirst))
}

/** The first record's sequence number in a live (plain) file, from the start of its first line. */
async function firstSeqIn(f: OpenedFile): Promise<number | undefined> {
  const buffer = Buffer.alloc(32)
  const {bytesRead} = await f.handle.read(buffer, 0, buffer.length, 0)
  return seqOf(buffer.toString('utf8', 0, bytesRead))
}

function snapshotOf(files: OpenedFile[], live: OpenedFile | undefined, headText: string | undefined, checkpointText: string | undefined): Omit<ChainSnapshot, 'locked'> {
  let liveKept = false
  return {
    files,
    live,
    headText,
    checkpointText,
    async close() {
      await closeAll(files.filter((f) => !(liveKept && f === live)))
    },
    keepLive() {
      liveKept = live !== undefined
      return live
    },
  }
}

async function closeAll(files: OpenedFile[]): Promise<void> {
  await Promise.all(files.map((f) => f.handle.close().catch(() => {})))
}

/**
 * The write lock, when this process can take it. A log whose directory does not exist has nothing
 * to lock (and taking the lock would create the directory). A reader without write access, or one
 * that finds the directory unsafe for writing, reads without it.
 */
async function lockIfPossible(file: string): Promise<WriteLock | undefined> {
  const isDir = await fs.stat(path.dirname(file)).then((s) => s.isDirectory(), () => false)
  if (!isDir) return undefined
  return acquireWriteLock(file, 'audit log').catch(() => undefined)
}

async function openLive(file: string): Promise<OpenedFile | undefined> {
  const handle = await fs.open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  if (!handle) return undefined
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) {
      await handle.close()
      return undefined
    }
    return {file, handle, compressed: false, size: stat.size, dev: stat.dev, ino: stat.ino}
  } catch (err) {
    await handle.close()
    throw err
  }
}

async function readOrNone(file: string): Promise<string | undefined> {
  return fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
}

/**
 * The chain's file names in order, as a snapshot saw them. Names only: a reader that means to read
 * them consistently keeps the snapshot's handles instead (`openChain`).
 */
export async function chainFiles(file: string): Promise<string[]> {
  const snapshot = await openChain(file)
  await snapshot.close()
  return snapshot.files.map((f) => f.file)
}
