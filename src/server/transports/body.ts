/** An HTTP request body for the read-body stage: past the limit, a 413 refusal that closes the connection. */
import type {IncomingMessage} from 'node:http'

import {BodyTooLarge, readBodyWithin} from '../../net/body.js'
import {Refusal} from '../refusal.js'

export function bodyReader(req: IncomingMessage): (limit: number) => Promise<Buffer> {
  return (limit) =>
    readBodyWithin(req, limit).catch((err: unknown) => {
      // A client still sending after its answer would keep the connection busy; close it.
      if (err instanceof BodyTooLarge) throw Refusal.tooLarge(`Payload Too Large: ${err.message}`, {connection: 'close'})
      throw err
    })
}
