/**
 * A loopback HTTP server for tests of what keyward reads from a server that answers too much: it
 * streams filler as fast as the client reads it (never faster), and counts how much got out, so a
 * test can tell a transfer that was stopped from one that was read whole.
 */
import http, {type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface FillerServer {
  /** The server's address, with `path`. */
  url: string
  /** Bytes of filler written so far. */
  written(): number
  close(): Promise<void>
}

/**
 * Serves `handle`, which answers a request itself, or calls `fill(res, bytes, end)` to write that
 * many bytes of filler (spaces or `x`, in 256 KiB chunks) and then `end`; headers and any opening
 * text are the handler's to write first.
 */
export async function fillerServer(
  path: string,
  handle: (req: IncomingMessage, res: ServerResponse, fill: (res: ServerResponse, bytes: number, end: string) => void) => unknown,
  filler = 0x20,
): Promise<FillerServer> {
  let written = 0
  const chunk = Buffer.alloc(256 * 1024, filler)
  const fill = (res: ServerResponse, bytes: number, end: string) => {
    const until = written + bytes
    const pump = () => {
      while (written < until && !res.destroyed) {
        written += chunk.length
        if (!res.write(chunk)) return void res.once('drain', pump)
      }
      res.end(end)
    }
    pump()
  }
  const server = http.createServer((req, res) => {
    res.on('error', () => {})
    void handle(req, res, fill)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}${path}`,
    written: () => written,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
