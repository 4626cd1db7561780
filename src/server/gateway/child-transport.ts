/**
 * The client side of a stdio upstream: spawns it through the child wrapper (so it dies with
 * keyward), contained as sandbox.ts plans it (a sandbox, or a PID namespace of its own, with a
 * private HOME), speaks newline-delimited JSON-RPC on its stdin and stdout, and hands its stderr
 * to the log line by line. What the upstream writes is bounded: a line longer than the limit is
 * discarded, and a line that is not a JSON-RPC message is logged and skipped, never fatal. An
 * answer discarded that way is answered at once with an error naming the limit, so that its
 * call does not wait for its timeout: the answer's id is read from the line's head or tail, or,
 * failing that, it is the one request in flight.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {constants} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import type {JSONRPCMessage, Transport} from '@modelcontextprotocol/client'

import type {SandboxPolicy} from '../../upstreams/isolation.js'
import {RPC} from '../refusal.js'
import {trackChild} from './live-children.js'
import {planLaunch, preparePrivateHome, type Containment} from './sandbox.js'

/** The wrapper script: beside this module as tsc compiles it, or under dist/src when this module is bundled. */
const HERE = path.dirname(fileURLToPath(import.meta.url))
const WRAPPER = [path.join(HERE, 'child-wrapper.js'), path.resolve(HERE, '../../src/server/gateway/child-wrapper.js')].find((p) => existsSync(p)) ?? path.join(HERE, 'child-wrapper.js')

/** How a stdio upstream is contained: its private HOME, its sandbox (if any), and what a sandbox hides. */
export interface Launch {
  home?: string
  sandbox?: SandboxPolicy
  hidden: readonly string[]
}

/** Requests in flight remembered at most, for answering an oversized answer. */
const MAX_PENDING = 100_000

/** How long a closing upstream has to exit on its own after its stdin closed. */
const EOF_GRACE_MS = 1000

export interface ChildOptions {
  /** The upstream's name, for naming a process still running when keyward shut down (live-children.ts). */
  upstream?: string
  command: string
  args: string[]
  env: Record<string, string>
  /** Absent: the command runs as given, in the wrapper's process group only (tests that embed a transport). */
  launch?: Launch
  /** Each line the upstream writes to stderr, or a note about its stdout. */
  onLog(line: string, kind: 'stderr' | 'stdout-garbage'): void
  maxLineBytes: number
}

/** The start and end of a line too long to keep: enough to find the id of the answer it was. */
export interface Oversized {
  head: Buffer
  /** Known once the line has ended. */
  tail?: Buffer
}

const EDGE_BYTES = 256

/**
 * Splits a byte stream into lines, dropping any longer than `max`. `onTooLong` hears of such a
 * line twice: when it passes the limit (its head), and when it ends (its head and tail).
 */
export function lineSplitter(max: number, onLine: (line: Buffer) => void, onTooLong: (line: Oversized) => void): (chunk: Buffer) => void {
  let parts: Buffer[] = []
  let size = 0
  let discarding: Oversized | undefined
  return (chunk) => {
    let start = 0
    for (;;) {
      const nl = chunk.indexOf(0x0a, start)
      const piece = chunk.subarray(start, nl === -1 ? chunk.length : nl)
      if (discarding) {
        discarding.tail = Buffer.concat([discarding.tail ?? Buffer.alloc(0), piece]).subarray(-EDGE_BYTES)
      } else if (size + piece.length > max) {
        const kept = Buffer.concat([...parts, piece.subarray(0, EDGE_BYTES)])
        discarding = {head: Buffer.from(kept.subarray(0, EDGE_BYTES)), tail: Buffer.from(piece.subarray(-EDGE_BYTES))}
        parts = []
        size = 0
        onTooLong({head: discarding.head})
      } else if (piece.length > 0) {
        parts.push(piece)
        size += piece.length
      }
      if (nl === -1) return
      if (discarding) onTooLong(discarding)
      else if (size > 0) onLine(parts.length === 1 ? parts[0] : Buffer.concat(parts))
      discarding = undefined
      parts = []
      size = 0
      start = nl + 1
    }
  }
}

const ID = String.raw`(-?\d+|"(?:[^"\\]|\\.)*")`
/** `{"jsonrpc":"2.0","id":7,…` or `{"id":7,…`: the id first, as most SDKs but the TypeScript one write it. */
const HEAD_ID = new RegExp(String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*${ID}`)
/** `…,"jsonrpc":"2.0","id":7}`: the id last, as the TypeScript SDK writes an answer. A nested `"id":7}` ends in `}}`, never matched. */
const TAIL_ID = new RegExp(String.raw`"id"\s*:\s*${ID}\s*(?:,\s*"jsonrpc"\s*:\s*"2\.0"\s*)?\}\s*$`)

/** The id of the answer an oversized line was, if its head or its tail says. */
export function oversizedId(line: Oversized): string | number | undefined {
  for (const [re, text] of [[HEAD_ID, line.head.toString('latin1')], [TAIL_ID, line.tail?.toString('latin1')]] as const) {
    const m = text === undefined ? null : re.exec(text)
    if (!m) continue
    try {
      return JSON.parse(m[1]) as string | number
    } catch {}
  }
  return undefined
}

export class ChildTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void
  private child?: ChildProcess
  /** close() was called: a start still preparing the launch must not spawn the process after it. */
  private closed = false
  /** How the process ended, for the message a caller sees. */
  exit?: {code: number | null; signal: NodeJS.Signals | null}
  /** Ids of keyward's requests not answered yet. */
  private readonly pending = new Set<string | number>()

  constructor(private readonly options: ChildOptions) {}

  get pid(): number | undefined {
    return this.child?.pid
  }

  /**
   * Always null (stderr goes to the log). With `pid`, it is how the SDK client recognises a
   * stdio transport when it negotiates: there, an upstream silent on `server/discover` is a
   * 2025-era server, not an outage.
   */
  get stderr(): null {
    return null
  }
  /** How the running process tree is held (sandbox, PID namespace, …); set once started. */
  containment: Containment = 'process-group'

  async start(): Promise<void> {
    const {command, args, env, launch, onLog, maxLineBytes} = this.options
    let argv = [command, ...args]
    let childEnv = env
    if (launch) {
      // A sandboxed upstream that cannot be sandboxed does not start: this throws, with how to fix it.
      const plan = await planLaunch({command, args, env, ...launch})
      if (launch.home) await preparePrivateHome(launch.home)
      argv = plan.argv
      childEnv = plan.env
      this.containment = plan.containment
    }
    // Closed while the launch was prepared (the link stopped meanwhile): nothing would ever end a process spawned now.
    if (this.closed) throw new Error('the upstream was stopped before it started')
    // Secrets travel in env only: never in argv, which other users can read in /proc.
    const child = spawn(process.execPath, [WRAPPER, ...argv], {env: childEnv, stdio: ['pipe', 'pipe', 'pipe', 'pipe'], windowsHide: true})
    this.child = child
    if (child.pid !== undefined) {
      const forget = trackChild(this.options.upstream ?? '(unnamed)', child.pid, () => ({closing: this.closed, exited: child.exitCode !== null || child.signalCode !== null}))
      child.once('close', forget)
    }
    child.stdout!.on(
      'data',
      lineSplitter(
        maxLineBytes,
        (line) => this.receive(line),
        (line) => this.oversized(line),
      ),
    )
    child.stderr!.on(
      'data',
      lineSplitter(
        16 * 1024,
        (line) => onLog(line.toString('utf8'), 'stderr'),
        () => onLog('(a long stderr line was cut)', 'stderr'),
      ),
    )
    child.stdin!.on('error', () => {})
    child.on('error', (err) => this.onerror?.(err))
    child.on('exit', (code, signal) => {
      this.pending.clear()
      this.exit = bubblewrapped(this.containment) ? signalOf(code, signal) : {code, signal}
      this.onclose?.()
    })
  }

  /** Requests keyward sent and awaits; a cancelled one gets no answer. Bounded: the oldest are forgotten first. */
  private track(message: JSONRPCMessage): void {
    if ('method' in message && 'id' in message) {
      this.pending.add(message.id)
      if (this.pending.size > MAX_PENDING) this.pending.delete(this.pending.values().next().value!)
    } else if ('method' in message && message.method === 'notifications/cancelled') {
      const id = (message.params as {requestId?: unknown} | undefined)?.requestId
      if (typeof id === 'string' || typeof id === 'number') this.pending.delete(id)
    }
  }

  /** A line over the limit: its answer, once found, is an error that names the limit. */
  private oversized(line: Oversized): void {
    const {maxLineBytes, onLog} = this.options
    if (!line.tail) onLog(`a line over ${maxLineBytes} bytes on stdout was discarded`, 'stdout-garbage')
    const found = oversizedId(line)
    const id = found !== undefined && this.pending.has(found) ? found : line.tail && this.pending.size === 1 ? [...this.pending][0] : undefined
    if (id === undefined) return
    this.pending.delete(id)
    const message = `the upstream's answer was over the ${maxLineBytes}-byte (${Math.round(maxLineBytes / 1048576)} MiB) line limit of a stdio upstream, and was discarded`
    this.onmessage?.({jsonrpc: '2.0', id, error: {code: RPC.INTERNAL_ERROR, message, data: {reason: 'too_large', limit: maxLineBytes}}})
  }

  private receive(line: Buffer): void {
    let message: unknown
    try {
      message = JSON.parse(line.toString('utf8'))
    } catch {
      this.options.onLog('wrote a line to stdout that is not JSON (stdout carries the protocol; logs belong on stderr)', 'stdout-garbage')
      return
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message) || (message as {jsonrpc?: unknown}).jsonrpc !== '2.0') {
      this.options.onLog('wrote a line to stdout that is not a JSON-RPC message', 'stdout-garbage')
      return
    }
    const m = message as {id?: unknown; method?: unknown}
    if (m.method === undefined && (typeof m.id === 'string' || typeof m.id === 'number')) this.pending.delete(m.id)
    this.onmessage?.(message as JSONRPCMessage)
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin
    if (!stdin || stdin.destroyed) throw new Error('the upstream is not running')
    this.track(message)
    await new Promise<void>((resolve) => {
      if (stdin.write(JSON.stringify(message) + '\n')) resolve()
      else stdin.once('drain', () => resolve())
    })
  }

  /**
   * Closes its stdin first and gives it a moment to exit by itself, as MCP's stdio shutdown has
   * it (a sandboxed upstream never sees the SIGTERM: its own session is out of the wrapper's
   * group, and bubblewrap ends it with SIGKILL), then SIGTERM, then SIGKILL.
   */
  async close(): Promise<void> {
    this.closed = true
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.stdin?.end()
    const timers = [setTimeout(() => child.kill('SIGTERM'), EOF_GRACE_MS), setTimeout(() => child.kill('SIGKILL'), EOF_GRACE_MS + 3000)]
    for (const timer of timers) timer.unref()
    await exited
    for (const timer of timers) clearTimeout(timer)
  }
}

function bubblewrapped(containment: Containment): boolean {
  return containment === 'sandbox' || containment === 'pid-namespace'
}

/** bubblewrap reports a command killed by signal N as exit code 128+N: say it was killed, and by what. */
function signalOf(code: number | null, signal: NodeJS.Signals | null): {code: number | null; signal: NodeJS.Signals | null} {
  if (signal || code === null || code <= 128) return {code, signal}
  const name = (Object.entries(constants.signals) as [NodeJS.Signals, number][]).find(([, n]) => n === code - 128)?.[0]
  return name ? {code: null, signal: name} : {code, signal}
}
