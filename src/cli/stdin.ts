import {KeywardError} from '../errors/index.js'

/** Reads piped stdin to its end (oclif's allowStdin gives up after 10 ms). */
export async function readStdin(limit: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length
    if (size > limit) throw new KeywardError('INVALID_INPUT', `input on stdin is larger than ${limit} bytes`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

export function stdinIsTty(): boolean {
  return Boolean(process.stdin.isTTY)
}
