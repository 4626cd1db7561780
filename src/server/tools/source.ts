/**
 * Tool sources: where the tools, prompts and resources a server offers come from. The built-in
 * tools are one source; an upstream MCP server is another. A source may change what it offers
 * at run time and says so through onChange.
 */
import type {
  CallToolResult,
  ClientCapabilities,
  ClientResult,
  CompleteRequest,
  CompleteResult,
  GetPromptResult,
  LoggingLevel,
  Prompt,
  ReadResourceResult,
  Resource,
  ResourceTemplateType as ResourceTemplate,
  ServerNotification,
  ServerRequest,
  Tool,
} from '@modelcontextprotocol/server'

import type {Principal} from '../../auth/index.js'
import type {Era} from '../era/protocol.js'
import type {Redactor} from '../../guard/redactor.js'
import type {Allowance} from '../../ratelimit/limits.js'

export type ItemKind = 'tool' | 'prompt' | 'resource'

export interface ServerInfo {
  name: string
  version: string
  startedAt: number
}

/**
 * The way back to the client that made a call: notifications and requests related to it. A
 * request (sampling, elicitation, roots) resolves with the client's answer, checked by the SDK
 * against that method's result schema; to a 2026-07-28 client it becomes an input request of
 * an InputRequiredResult (server/bridge), answered when the client retries.
 */
export interface ClientChannel {
  notify(notification: ServerNotification): Promise<void>
  request(request: ServerRequest, options?: {signal?: AbortSignal; timeout?: number}): Promise<ClientResult>
}

/**
 * One client's session with this server (stdio, or a stateful HTTP session): its capabilities,
 * a way to reach it outside any call, and the end of it.
 */
export interface ClientSession {
  readonly id: string
  capabilities(): ClientCapabilities | undefined
  /** Messages that belong to no single call: log messages, resource updates, requests from an upstream. */
  readonly channel: ClientChannel
  /** Calls `listener` when the session ends; at once when it has ended already (a request can outlive its session). */
  onClose(listener: () => void): void
}

/** What a call may use besides its arguments. */
export interface CallEnv {
  principal: Principal
  server: ServerInfo
  signal: AbortSignal
  /** The `_meta` of the client's request (progress token and the like). */
  meta?: Record<string, unknown>
  /** Notifications and requests to the client, related to this call. */
  client?: ClientChannel
  /** The caller's session; absent in stateless mode. */
  session?: ClientSession
  /** The protocol era of the request that made the call (absent outside the call stages). */
  era?: Era
  /** What the caller declared it can do: a 2026-07-28 request's `_meta` capabilities, a 2025 session's initialize. */
  declared?: ClientCapabilities
  /** A 2026-07-28 client's call: how an upstream's own input requests pass through keyward's bridge (server/bridge). */
  input?: InputPassage
  /** The log level a 2026-07-28 request's `_meta` asked for (a 2025 session's is kept by the gateway). */
  logLevel?: LoggingLevel
  /** Where the caller stands against its rate limit. */
  allowance?: () => Promise<Allowance | undefined>
  /**
   * For the redacting wrapper (redacting.ts), which takes it off before the source sees the
   * call: the redactor of the runtime the call runs under, and the names it replaced.
   */
  redaction?: Redaction
}

/**
 * A 2026-07-28 upstream's input-required round, carried between keyward's bridge and the source
 * of the upstream that asked. The client never sees the upstream's own state: keyward seals it
 * into its requestState (bound to the caller, the method and the item; short-lived; single use).
 */
export interface InputPassage {
  /** The client's retry: the upstream that asked, its own requestState, and the client's inputResponses. */
  readonly retry?: {upstream: string; state?: string; responses: Record<string, unknown>}
  /** Set by the source when its upstream answers input_required: what keyward seals into its own requestState. */
  asked?: {upstream: string; state?: string}
}

export interface Redaction {
  redactor: Redactor
  found: Set<string>
}

/** What the catalog may know of an item besides its descriptor. */
export interface ItemTraits {
  /**
   * The item never asks its caller for input (sampling, elicitation, roots) while it runs, as
   * keyward's own tools never do: a 2026-07-28 call of it has nothing to hold and skips the
   * bridge (server/bridge). Unset: it may ask (an upstream's items).
   */
  neverAsks?: boolean
}

export interface SourceTool extends ItemTraits {
  kind: 'tool'
  /** As listed to clients; `inputSchema` is JSON Schema, which validates every call. */
  descriptor: Tool
  call(args: Record<string, unknown>, env: CallEnv): Promise<CallToolResult> | CallToolResult
}

export interface SourcePrompt extends ItemTraits {
  kind: 'prompt'
  descriptor: Prompt
  get(args: Record<string, string>, env: CallEnv): Promise<GetPromptResult> | GetPromptResult
}

export interface SourceResource extends ItemTraits {
  kind: 'resource'
  descriptor: Resource
  read(env: CallEnv): Promise<ReadResourceResult> | ReadResourceResult
  subscribe?(env: CallEnv): Promise<void>
  unsubscribe?(env: CallEnv): Promise<void>
}

export type CatalogItem = SourceTool | SourcePrompt | SourceResource
export type ItemResult = CallToolResult | GetPromptResult | ReadResourceResult

export interface ToolSource {
  /** Shown in logs; unique among the sources of one server. */
  readonly name: string
  /** What the source offers; given a session, what it offers that session (the same, for most sources). */
  tools(session?: ClientSession): readonly SourceTool[]
  prompts(session?: ClientSession): readonly SourcePrompt[]
  resources(session?: ClientSession): readonly SourceResource[]
  /** True when this session has items of its own (then the catalog builds the session an index of its own). */
  hasSessionItems?(session: ClientSession): boolean
  /** Templates of resources read by URI; such a URI is routed by resourceFor. */
  resourceTemplates?(): readonly ResourceTemplate[]
  resourceFor?(uri: string): SourceResource | undefined
  /** Called with the kind of list that changed; returns a function that stops listening. */
  onChange?(listener: (kind: ItemKind) => void): () => void
  /** completion/complete for an argument of one of its prompts or resource templates. */
  complete?(params: CompleteRequest['params'], env: CallEnv): Promise<CompleteResult>
  /**
   * False until the source has listed what it offers once (or failed to start): until then the
   * resources of sources after it are held back, since it may claim their URIs (see Catalog).
   * Absent: always listed.
   */
  readonly listedOnce?: boolean
}

/** A source whose items are set from outside, for embedding keyward and for tests. */
export class StaticSource implements ToolSource {
  private items: {tool: SourceTool[]; prompt: SourcePrompt[]; resource: SourceResource[]} = {tool: [], prompt: [], resource: []}
  private readonly listeners = new Set<(kind: ItemKind) => void>()

  constructor(
    readonly name: string,
    items: {tools?: SourceTool[]; prompts?: SourcePrompt[]; resources?: SourceResource[]} = {},
  ) {
    this.items = {tool: items.tools ?? [], prompt: items.prompts ?? [], resource: items.resources ?? []}
  }

  tools(): readonly SourceTool[] {
    return this.items.tool
  }

  prompts(): readonly SourcePrompt[] {
    return this.items.prompt
  }

  resources(): readonly SourceResource[] {
    return this.items.resource
  }

  /** Replaces the items of one kind and tells the listeners. */
  set<K extends ItemKind>(kind: K, items: K extends 'tool' ? SourceTool[] : K extends 'prompt' ? SourcePrompt[] : SourceResource[]): void {
    ;(this.items as Record<ItemKind, unknown[]>)[kind] = items
    for (const listener of this.listeners) listener(kind)
  }

  onChange(listener: (kind: ItemKind) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
