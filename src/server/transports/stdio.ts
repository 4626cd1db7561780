/**
 * MCP over stdio: newline-delimited JSON-RPC on stdin and stdout. Every line runs the pipeline
 * (request stages with the credential from the environment, then message stages), in arrival
 * order, before the SDK server sees it; a refused request gets its JSON-RPC error on stdout.
 *
 * Lines are bounded: a line longer than the limit is discarded up to its newline and answered
 * with an error, and the server reads on. Nothing a client sends can make it stop reading,
 * close, or hang.
 */
import type {Readable, Writable} from 'node:stream'

import type {Transport, TransportSendOptions} from '@modelcontextprotocol/server'
import type {JSONRPCMessage, MessageExtraInfo} from '@modelcontextprotocol/server'

import type {Credential, Principal} from '../../auth/index.js'
import type {RequestContext} from '../context.js'
import type {Logger} from '../log.js'
import {authInfoFor, type Admitted} from '../mcp.js'
import {Refusal, renderRefusal} from '../refusal.js'
import type {Pipeline} from '../pipeline/pipeline.js'
import {backedUp, backedUpError, Dropped} from './backlog.js'

export interface StdioOptions {
  input: Readable
  output: Writable
  pipeline: Pipeline
  credential: () => Credential | undefined
  /** Where the notifications dropped for a client that does not read stdout are told (backlog.ts). */
  log?: Logger
}

const TOO_LONG = Symbol('line too long')
/** Requests admitted and not yet answered whose caller is remembered; past this the oldest is forgotten. */
const MAX_ADMITTED = 4096

export class StdioTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void
  private chunks: Buffer[] = []
  private buffered = 0
  private discarding = false
  private queue: Promise<void> = Promise.resolve()
  private closed = false
  private dropped?: Dropped
  /** The principal of the latest admitted message (its scopes decide which list changes it hears of). */
  principal?: Principal
  /**
   * The caller and runtime each request was admitted with, until it is answered: the SDK's stdio
   * entry (serveStdio) passes a message on without what the transport attaches to it, so the
   * server's handlers look their request up here (McpDeps.admitted).
   */
  private readonly admittedById = new Map<string | number, Admitted>()
  /** Resolves when the input ends and every line read has been handled. */
  readonly ended: Promise<void>
  private resolveEnded!: () => void

  constructor(private readonly options: StdioOptions) {
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve))
  }

  async start(): Promise<void> {
    // A client that closes our stdout has gone: that ends the session like the end of stdin.
    this.options.output.on('error', () => {
      this.closed = true
      this.resolveEnded()
    })
    this.options.input.on('data', this.onData)
    this.options.input.once('end', this.onEnd)
    this.options.input.on('error', (err: Error) => this.onerror?.(err))
  }

  private readonly onEnd = () => {
    // A last line without a newline is still a message.
    if (this.buffered > 0 && !this.discarding) this.enqueue(Buffer.concat(this.chunks))
    this.chunks = []
    this.buffered = 0
    this.queue.then(() => this.resolveEnded()).catch(() => this.resolveEnded())
  }

  private readonly onData = (chunk: Buffer) => {
    let start = 0
    for (;;) {
      const nl = chunk.indexOf(0x0a, start)
      const piece = chunk.subarray(start, nl === -1 ? chunk.length : nl)
      if (!this.discarding) {
        // The longest line buffered is guard.max-body, which can change; a longer one is discarded and refused by the read-body stage.
        if (this.buffered + piece.length > this.options.pipeline.runtime().protection.maxBody) {
          this.discarding = true
          this.chunks = []
          this.buffered = 0
        } else if (piece.length > 0) {
          this.chunks.push(piece)
          this.buffered += piece.length
        }
      }
      if (nl === -1) return
      const line = this.discarding ? TOO_LONG : Buffer.concat(this.chunks)
      this.discarding = false
      this.chunks = []
      this.buffered = 0
      this.enqueue(line)
      start = nl + 1
    }
  }

  private enqueue(line: Buffer | typeof TOO_LONG): void {
    if (line !== TOO_LONG && line.length === 0) return
    if (line !== TOO_LONG && line.at(-1) === 0x0d) line = line.subarray(0, -1)
    this.queue = this.queue.then(() => this.admit(line)).catch((err) => this.onerror?.(err as Error))
  }

  private async admit(line: Buffer | typeof TOO_LONG): Promise<void> {
    const ctx: RequestContext = {
      transport: 'stdio',
      runtime: this.options.pipeline.runtime(),
      headers: {},
      presented: this.options.credential,
      readBody: async (limit) => {
        if (line === TOO_LONG || line.length > limit) {
          throw Refusal.tooLarge(`Message too large: a line may hold at most ${limit} bytes`)
        }
        return line
      },
      responseHeaders: {},
      startedAt: Date.now(),
    }
    try {
      await this.options.pipeline.handle(ctx, (admitted) => {
        this.principal = admitted.principal
        this.remember(admitted)
        this.onmessage?.(admitted.message!.json, {authInfo: authInfoFor(admitted.principal!, admitted.runtime)})
      })
    } catch (err) {
      if (!(err instanceof Refusal)) throw err
      const message = ctx.message
      // A notification or a response gets no answer; a request, or a line that never became a message, does.
      if (message && (message.id === undefined || message.method === undefined)) return
      await this.send(renderRefusal(err, message?.id ?? null) as JSONRPCMessage)
    }
  }

  private remember(ctx: RequestContext): void {
    const {id, method, params} = ctx.message!
    if (method === 'notifications/cancelled') this.admittedById.delete(params?.requestId as string | number)
    if (id === undefined || method === undefined) return
    if (this.admittedById.size >= MAX_ADMITTED) this.admittedById.delete(this.admittedById.keys().next().value!)
    this.admittedById.set(id, {principal: ctx.principal!, runtime: ctx.runtime})
  }

  /** The caller a request was admitted for, while it is unanswered. */
  admitted(id: string | number): Admitted | undefined {
    return this.admittedById.get(id)
  }

  /** An answer always goes; while the client leaves too much of stdout unread (backlog.ts), a notification is dropped and a request to it refused. */
  send(message: JSONRPCMessage, _options?: TransportSendOptions): Promise<void> {
    const answer = 'id' in message && ('result' in message || 'error' in message)
    if (answer) this.admittedById.delete(message.id as string | number)
    if (this.closed) return Promise.resolve()
    if (!answer && backedUp(this.options.output)) {
      if ('id' in message) return Promise.reject(backedUpError())
      this.dropped ??= new Dropped({what: 'stdio', report: (line) => this.options.log?.('warn', line)})
      this.dropped.add()
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      if (this.options.output.write(JSON.stringify(message) + '\n')) resolve()
      else this.options.output.once('drain', () => resolve())
    })
  }

  /** Stops reading: the input is paused as well as left, so a client that keeps stdin open does not keep the process alive after a SIGTERM. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.dropped?.end()
    this.options.input.off('data', this.onData)
    this.options.input.off('end', this.onEnd)
    this.options.input.pause()
    this.resolveEnded()
    this.onclose?.()
  }
}

