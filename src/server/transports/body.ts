/** Reading an HTTP request body with a limit: past it, 413 at once, and the rest is drained, not buffered. */
import type {IncomingMessage} from 'node:http'

import {Refusal} from '../refusal.js'

/** How long a client that keeps sending past the limit may go on before its connection is cut. */
const DRAIN_MS = 2000

export function bodyReader(req: IncomingMessage): (limit: number) => Promise<Buffer> {
  return (limit) =>
    new Promise((resolve, reject) => {
      const declared = Number(req.headers['content-length'])
      const tooLarge = () => Refusal.tooLarge(`Payload Too Large: the body exceeds ${limit} bytes`, {connection: 'close'})
      const drain = () => {
        // Keep reading and discarding, so the client can finish sending and read the 413.
        req.removeAllListeners('data')
        req.on('data', () => {})
        req.resume()
        setTimeout(() => req.destroy(), DRAIN_MS).unref()
      }
      if (Number.isFinite(declared) && declared > limit) {
        drain()
        return reject(tooLarge())
      }
      const chunks: Buffer[] = []
      let size = 0
      req.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > limit) {
          drain()
          reject(tooLarge())
          return
        }
        chunks.push(chunk)
      })
      req.once('end', () => resolve(Buffer.concat(chunks)))
      req.once('error', (err) => reject(err))
    })
}
