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
 * without it (`locked` false): then a writer can still move files between the listing and the
 * opens, and the caller looks again before it believes something is wrong.
 */
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {acquireWriteLock, type WriteLock} from '../vault/index.js'
import {checkpointPath, headPath, listSegments} from './files.js'
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

export async function openChain(file: string): Promise<ChainSnapshot> {
  const lock = await lockIfPossible(file)
  const files: OpenedFile[] = []
  try {
    for (const segment of await listSegments(file)) {
      const opened = await openLogFile(segment.file).catch((err: NodeJS.ErrnoException) => {
        // Without the lock, a segment listed a moment ago may have been dropped by retention.
        if (err.code === 'ENOENT' && !lock) return undefined
        throw err
      })
      if (opened) files.push(opened)
    }
    let live = await openLive(file)
    const newest = files.at(-1)
    if (live && newest && !newest.compressed && newest.ino === live.ino && newest.dev === live.dev) {
      // A rotation stopped between its link and its unlink: the live file's records are the segment's.
      await live.handle.close()
      live = undefined
    }
    if (live) files.push(live)
    const headText = await readOrNone(headPath(file))
    const checkpointText = await readOrNone(checkpointPath(file))
    let liveKept = false
    return {
      files,
      live,
      headText,
      checkpointText,
      locked: lock !== undefined,
      async close() {
        await Promise.all(files.filter((f) => !(liveKept && f === live)).map((f) => f.handle.close().catch(() => {})))
      },
      keepLive() {
        liveKept = live !== undefined
        return live
      },
    }
  } catch (err) {
    await Promise.all(files.map((f) => f.handle.close().catch(() => {})))
    throw err
  } finally {
    await lock?.release()
  }
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
