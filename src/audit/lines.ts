/**
 * The lines of one log file, plain or gzip-compressed (`.gz`), read as a stream: oldest first, or
 * newest first. Lines are split on `\n` only (records are JSON, which never holds a raw newline);
 * a last line without its newline is reported as incomplete (a writer stopped mid-record).
 */
import {promises as fs} from 'node:fs'
import {StringDecoder} from 'node:string_decoder'
import {createGunzip} from 'node:zlib'

export interface Line {
  text: string
  /** 1-based, within its file: counted from its start (linesForward), or from its end (linesBackward). */
  number: number
  /** False for a last line that has no newline after it. */
  complete: boolean
}

const isCompressed = (file: string) => file.endsWith('.gz')

/**
 * Opens a segment for reading. One listed plain may have been compressed since it was listed
 * (by a writer's maintenance, concurrently): then its `.gz` is read instead.
 */
function openStream(file: string): Promise<{stream: NodeJS.ReadableStream; file: string}> {
  const tryOpen = (f: string) =>
    fs.open(f, 'r').then((handle) => {
      const raw = handle.createReadStream({highWaterMark: 256 * 1024})
      if (!isCompressed(f)) return {stream: raw, file: f}
      const gunzip = createGunzip()
      // A reader that stops early destroys the gunzip stream: the file goes with it.
      raw.on('error', (err) => gunzip.destroy(err))
      gunzip.on('close', () => raw.destroy())
      return {stream: raw.pipe(gunzip), file: f}
    })
  return tryOpen(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' && !isCompressed(file)) return tryOpen(`${file}.gz`)
    throw err
  })
}

/** The file's lines, oldest first, without holding the file in memory. */
export async function* linesForward(file: string): AsyncGenerator<Line> {
  const {stream} = await openStream(file)
  const decoder = new StringDecoder('utf8')
  let partial = ''
  let number = 0
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const parts = (partial + decoder.write(chunk)).split('\n')
    partial = parts.pop()!
    for (const text of parts) yield {text, number: ++number, complete: true}
  }
  partial += decoder.end()
  if (partial !== '') yield {text: partial, number: ++number, complete: false}
}

/** The file's lines, newest first. A plain file is read from its end in chunks; a compressed one whole. */
export async function* linesBackward(file: string): AsyncGenerator<Line> {
  if (isCompressed(file)) {
    const all: Line[] = []
    for await (const line of linesForward(file)) all.push(line)
    for (let i = all.length - 1; i >= 0; i--) yield all[i]
    return
  }
  let handle: fs.FileHandle
  try {
    handle = await fs.open(file, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      yield* linesBackward(`${file}.gz`)
      return
    }
    throw err
  }
  try {
    yield* backwardFrom(handle)
  } finally {
    await handle.close()
  }
}

async function* backwardFrom(handle: fs.FileHandle): AsyncGenerator<Line> {
  const {size} = await handle.stat()
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
export async function firstLine(file: string): Promise<string | undefined> {
  for await (const line of linesForward(file)) return line.text
  return undefined
}

/** The last complete line of a file (plain or compressed). */
export async function lastCompleteLine(file: string): Promise<string | undefined> {
  for await (const line of linesBackward(file)) if (line.complete && line.text !== '') return line.text
  return undefined
}
