/**
 * The lines of one log file, plain or gzip-compressed (`.gz`), read as a stream: oldest first, or
 * newest first. Lines are split on `\n` only (records are JSON, which never holds a raw newline);
 * a last line without its newline is reported as incomplete (a writer stopped mid-record).
 *
 * A file is read either by name (opened now), or through a handle opened earlier (`OpenedFile`,
 * from `openChain`): then it is read as it was when opened, up to the size it had then, whatever
 * has happened to its name since (rotated, compressed, dropped).
 */
import {promises as fs} from 'node:fs'
import {pipeline, Readable} from 'node:stream'
import {StringDecoder} from 'node:string_decoder'
import {createGunzip} from 'node:zlib'

export interface Line {
  text: string
  /** 1-based, within its file: counted from its start (linesForward), or from its end (linesBackward). */
  number: number
  /** False for a last line that has no newline after it. */
  complete: boolean
}

/** A log file opened once, read through its handle: its name may have changed since. */
export interface OpenedFile {
  /** Its name when it was opened (for messages). */
  file: string
  handle: fs.FileHandle
  compressed: boolean
  /** How many bytes to read: the size when it was opened (a live file grows meanwhile). */
  size: number
  dev: number
  ino: number
}

export type LogSource = string | OpenedFile

const isCompressed = (file: string) => file.endsWith('.gz')
const CHUNK = 256 * 1024

/**
 * Opens a log file by name. One listed plain may have been compressed since it was listed (by a
 * writer's maintenance, concurrently): then its `.gz` is opened instead.
 */
export async function openLogFile(file: string): Promise<OpenedFile> {
  const open = async (f: string): Promise<OpenedFile> => {
    const handle = await fs.open(f, 'r')
    try {
      const stat = await handle.stat()
      return {file: f, handle, compressed: isCompressed(f), size: stat.size, dev: stat.dev, ino: stat.ino}
    } catch (err) {
      await handle.close()
      throw err
    }
  }
  return open(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' && !isCompressed(file)) return open(`${file}.gz`)
    throw err
  })
}

/** Runs `read` on the source, opening (and closing) it when it is a name. */
async function* withSource<T>(source: LogSource, read: (opened: OpenedFile) => AsyncGenerator<T>): AsyncGenerator<T> {
  if (typeof source !== 'string') {
    yield* read(source)
    return
  }
  const opened = await openLogFile(source)
  try {
    yield* read(opened)
  } finally {
    await opened.handle.close()
  }
}

/** The file's bytes from `from` up to its size when opened, in chunks, by position (the handle's own offset is never used). */
export async function* bytesOf(opened: OpenedFile, from = 0, to = opened.size): AsyncGenerator<Buffer> {
  for (let pos = from; pos < to; ) {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, to - pos))
    const {bytesRead} = await opened.handle.read(buf, 0, buf.length, pos)
    if (bytesRead === 0) return
    pos += bytesRead
    yield buf.subarray(0, bytesRead)
  }
}

/** The file's content, decompressed when it is a `.gz` segment. */
function contentOf(opened: OpenedFile): AsyncIterable<Buffer> {
  if (!opened.compressed) return bytesOf(opened)
  // pipeline destroys both streams when the reader stops early or the gzip stream is damaged.
  return pipeline(Readable.from(bytesOf(opened), {objectMode: false}), createGunzip(), () => {}) as AsyncIterable<Buffer>
}

/** The file's lines, oldest first, without holding the file in memory. */
export function linesForward(source: LogSource): AsyncGenerator<Line> {
  return withSource(source, forwardFrom)
}

async function* forwardFrom(opened: OpenedFile): AsyncGenerator<Line> {
  const decoder = new StringDecoder('utf8')
  let partial = ''
  let number = 0
  for await (const chunk of contentOf(opened)) {
    const parts = (partial + decoder.write(chunk)).split('\n')
    partial = parts.pop()!
    for (const text of parts) yield {text, number: ++number, complete: true}
  }
  partial += decoder.end()
  if (partial !== '') yield {text: partial, number: ++number, complete: false}
}

/** The file's lines, newest first. A plain file is read from its end in chunks; a compressed one whole. */
export function linesBackward(source: LogSource): AsyncGenerator<Line> {
  return withSource(source, async function* (opened) {
    if (!opened.compressed) {
      yield* backwardFrom(opened)
      return
    }
    const all: Line[] = []
    for await (const line of forwardFrom(opened)) all.push(line)
    for (let i = all.length - 1; i >= 0; i--) yield all[i]
  })
}

async function* backwardFrom(opened: OpenedFile): AsyncGenerator<Line> {
  const {handle, size} = opened
  // Lines are cut as bytes, so a multi-byte character split between two chunks stays whole.
  let carry = Buffer.alloc(0)
  let end = size
  let number = 0
  let complete = true
  const chunk = 64 * 1024
  while (end > 0) {
    const start = Math.max(0, end - chunk)
    const buf = Buffer.alloc(end - start)
    await handle.read(buf, 0, buf.length, start)
    let block = carry.length > 0 ? Buffer.concat([buf, carry]) : buf
    if (end === size) {
      complete = block.at(-1) === 0x0a
      if (complete) block = block.subarray(0, -1)
    }
    for (let nl = block.lastIndexOf(0x0a); nl !== -1; nl = block.lastIndexOf(0x0a)) {
      yield {text: block.subarray(nl + 1).toString('utf8'), number: ++number, complete: number > 1 || complete}
      block = block.subarray(0, nl)
    }
    carry = Buffer.from(block)
    end = start
  }
  if (size > 0) yield {text: carry.toString('utf8'), number: ++number, complete: number > 1 || complete}
}

/** A compressed segment that is not a whole gzip stream (garbled, or cut short). */
export function isDamagedCompression(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code
  return typeof code === 'string' && code.startsWith('Z_')
}

/** The first line of a file (plain or compressed), reading no further than it. */
export async function firstLine(source: LogSource): Promise<string | undefined> {
  for await (const line of linesForward(source)) return line.text
  return undefined
}

/**
 * The last complete line of a file (plain or compressed). A compressed file is streamed to its
 * end keeping only the last line, not held whole.
 */
export async function lastCompleteLine(source: LogSource): Promise<string | undefined> {
  for await (const text of withSource(source, lastOf)) return text
  return undefined
}

async function* lastOf(opened: OpenedFile): AsyncGenerator<string> {
  if (!opened.compressed) {
    for await (const line of backwardFrom(opened)) {
      if (line.complete && line.text !== '') {
        yield line.text
        return
      }
    }
    return
  }
  let last: string | undefined
  for await (const line of forwardFrom(opened)) if (line.complete && line.text !== '') last = line.text
  if (last !== undefined) yield last
}
