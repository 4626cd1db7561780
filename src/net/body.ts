/**
 * Reading an HTTP request body within a limit. Past it the rest is drained, not buffered, and the caller
 * learns of it once the client has finished sending (or after DRAIN_MS): a response that closes the
 * connection while the client is still writing reaches it as EPIPE or a reset, never as the 413.
 */
import type {IncomingMessage} from 'node:http'

/** How long a client that keeps sending past the limit may go on before it is answered and its connection cut. */
const DRAIN_MS = 2000

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the body exceeds ${limit} bytes`)
  }
}

/** The body, or BodyTooLarge once the excess has been drained. */
export function readBodyWithin(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let refused = false
    const refuse = () => {
      if (refused) return
      refused = true
      req.removeAllListeners('data')
      req.on('data', () => {})
      req.resume()
      const answer = () => {
        clearTimeout(cutOff)
        reject(new BodyTooLarge(limit))
      }
      const cutOff = setTimeout(answer, DRAIN_MS)
      cutOff.unref()
      // The answer closes the connection if it is still sending; this is the backstop if nothing answers.
      const backstop = setTimeout(() => req.destroy(), 2 * DRAIN_MS)
      backstop.unref()
      req.once('end', answer)
      req.once('close', () => {
        // Gone: nothing to cut, and the request need not be kept until then.
        clearTimeout(backstop)
        answer()
      })
    }
    const declared = Number(req.headers['content-length'])
    if (Number.isFinite(declared) && declared > limit) return refuse()
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        // Not kept while the rest is drained.
        chunks.length = 0
        return refuse()
      }
      chunks.push(chunk)
    })
    req.once('end', () => {
      if (!refused) resolve(Buffer.concat(chunks))
    })
    // Past the limit the answer is the refusal, whatever becomes of the connection (its 'close' gives it): an
    // oversized body whose client goes away is still refused and audited as too large, not failed.
    req.once('error', (err) => {
      if (!refused) reject(err)
    })
  })
}
