/**
 * `subscriptions/listen` over HTTP (MCP 2026-07-28): the stream on which a modern client hears
 * that a list changed, in place of the 2025 GET stream. The SDK serves it only inside its own
 * HTTP entry, so keyward serves it here, as the revision has it: an SSE response whose first
 * event acknowledges the honoured part of the filter, every event stamped with the listen
 * request's id as its subscription id, a keepalive comment every 25 s, and on a graceful close
 * the empty `subscriptions/listen` result.
 *
 * A stream belongs to the principal that opened it and hears of a change only when what that
 * principal may see changed (ConnectedServers), never another caller's. Honoured: the tool,
 * prompt and resource list changes; resource subscriptions are not (keyward does not offer them
 * to modern clients yet). At most 16 streams per principal and 1,024 in all; a stream is closed
 * when its principal stops being valid (revoked, expired), and when the server shuts down; a
 * stream whose key's scopes narrowed stays open and hears only of what the key may see now.
 */
import type {ServerResponse} from 'node:http'

import type {Principal} from '../../auth/index.js'
import type {RequestContext} from '../context.js'
import {isPlainObject, META} from '../era/protocol.js'
import type {ConnectedServers} from '../mcp.js'
import {Refusal} from '../refusal.js'
import type {ItemKind} from '../tools/source.js'
import {backedUp, Dropped} from './backlog.js'
import {SSE_HEADERS} from './exchange.js'

export interface ListenLimits {
  perPrincipal: number
  total: number
}

export const DEFAULT_LISTEN_LIMITS: ListenLimits = {perPrincipal: 16, total: 1024}
const KEEPALIVE_MS = 25_000

/** The filter bit of each list, and the notification that says it changed. */
const KINDS: Record<ItemKind, {filter: string; method: string}> = {
  tool: {filter: 'toolsListChanged', method: 'notifications/tools/list_changed'},
  prompt: {filter: 'promptsListChanged', method: 'notifications/prompts/list_changed'},
  resource: {filter: 'resourcesListChanged', method: 'notifications/resources/list_changed'},
}

interface Stream {
  principal: Principal
  close(graceful: boolean): void
}

export class ListenStreams {
  private readonly streams = new Set<Stream>()

  constructor(
    private readonly connected: ConnectedServers,
    private readonly serverInfo: {name: string; version: string},
    private readonly limits: ListenLimits = DEFAULT_LISTEN_LIMITS,
    /** Where the list changes dropped for a client that does not read are told (backlog.ts). */
    private readonly report: (line: string) => void = () => {},
  ) {}

  get size(): number {
    return this.streams.size
  }

  open(ctx: RequestContext, res: ServerResponse): void {
    // Its client left while the request stages ran: its 'close' has fired, so nothing would ever end (or uncount) the stream.
    if (res.destroyed) return
    const id = ctx.message!.id!
    const principal = ctx.principal!
    const requested = ctx.message!.params?.notifications
    if (!isPlainObject(requested)) throw Refusal.invalidParams('Invalid params: subscriptions/listen needs params.notifications, a subscription filter')
    this.checkRoom(principal)
    const honored: Record<string, true> = {}
    for (const {filter} of Object.values(KINDS)) if (requested[filter] === true) honored[filter] = true
    const stamp = {[META.subscriptionId]: id}
    const write = (message: object) => void (res.writableEnded || res.write(`event: message\ndata: ${JSON.stringify({jsonrpc: '2.0', ...message})}\n\n`))
    let dropped: Dropped | undefined
    res.writeHead(200, {...SSE_HEADERS, ...ctx.responseHeaders})
    write({method: 'notifications/subscriptions/acknowledged', params: {notifications: honored, _meta: stamp}})
    const stream: Stream = {
      principal,
      close: (graceful) => {
        if (graceful) write({id, result: {resultType: 'complete', _meta: {...stamp, [META.serverInfo]: this.serverInfo}}})
        res.end()
      },
    }
    // Nothing honoured: nothing can ever be sent on it, so it completes at once.
    if (Object.keys(honored).length === 0) return stream.close(true)
    const stop = this.connected.watch({
      principal: () => stream.principal,
      changed: (kind) => {
        if (!honored[KINDS[kind].filter]) return
        // A client that does not read its stream: what it has not read yet already says the list changed.
        if (backedUp(res)) return void (dropped ??= new Dropped({what: 'subscriptions/listen', report: this.report})).add()
        write({method: KINDS[kind].method, params: {_meta: stamp}})
      },
    })
    const keepalive = setInterval(() => backedUp(res) || res.write(': keepalive\n\n'), KEEPALIVE_MS)
    keepalive.unref()
    this.streams.add(stream)
    res.once('close', () => {
      clearInterval(keepalive)
      dropped?.end()
      stop()
      this.streams.delete(stream)
    })
  }

  private checkRoom(principal: Principal): void {
    let mine = 0
    for (const stream of this.streams) if (stream.principal.id === principal.id) mine++
    if (mine >= this.limits.perPrincipal || this.streams.size >= this.limits.total) {
      throw Refusal.overCapacity('too_many_subscriptions', 'Subscription limit reached')
    }
  }

  /**
   * Closes the streams whose principal is no longer valid (revoked, expired, removed), and holds
   * the others to their principal as it stands now (`current`: a key narrowed by `keys scope`);
   * returns how many it closed.
   */
  prune(current: (principal: Principal) => Principal | undefined): number {
    let closed = 0
    for (const stream of [...this.streams]) {
      const now = current(stream.principal)
      if (now) {
        stream.principal = now
        continue
      }
      this.streams.delete(stream)
      stream.close(true)
      closed++
    }
    return closed
  }

  closeAll(): void {
    for (const stream of [...this.streams]) stream.close(true)
    this.streams.clear()
  }
}
