/**
 * Redaction's one home. Everything a tool source sends towards a client passes through here:
 *
 *   - what it lists: tool, prompt and resource descriptors and resource templates (names,
 *     titles, descriptions, schema descriptions and defaults, every string and every key);
 *   - what a call answers: results, structuredContent (keys included), a completion, and the
 *     text and data of the error it fails with;
 *   - what it sends outside an answer: notifications and requests to the client, through the
 *     call's channel or through the session's.
 *
 * The catalog wraps every source it is given (catalog.ts), and mcp.ts wraps every client session
 * it makes before any source sees it, so a source holds nothing unwrapped to reach a client by.
 * Each wrapper is built from a table with an entry per member of the interface it wraps, typed
 * so that a member added to ToolSource, an item, ClientSession or ClientChannel without an entry
 * here fails to compile; test/unit/server/redacting.test.ts runs a source through every entry.
 *
 * A call is redacted with the redactor of the runtime it runs under (CallEnv.redaction, set by
 * the execute stage); lists and session messages with the newest runtime's.
 */
import type {Redactor} from '../../guard/redactor.js'
import {isJsonRpcError, Refusal} from '../refusal.js'
import type {CallEnv, CatalogItem, ClientChannel, ClientSession, Redaction, SourcePrompt, SourceResource, SourceTool, ToolSource} from './source.js'

export type CurrentRedactor = () => Redactor

/**
 * One entry per member of T, optional members included: how the wrapper makes that member from
 * the wrapped object, once; or, for a value that changes over time, `{live}`, read at each use.
 */
type Table<T, Arg> = {[K in keyof T]-?: ((inner: T, arg: Arg) => T[K]) | {live: (inner: T) => T[K]}}

function build<T, Arg>(table: Table<T, Arg>, inner: T, arg: Arg): T {
  const out: Partial<T> = {}
  for (const key of Object.keys(table) as (keyof T)[]) {
    const entry = table[key]
    if (typeof entry === 'function') out[key] = entry(inner, arg)
    else Object.defineProperty(out, key, {get: () => entry.live(inner), enumerable: true})
  }
  return out as T
}

// ---- channels and sessions ------------------------------------------------------------------

const CHANNEL: Table<ClientChannel, CurrentRedactor> = {
  notify: (inner, redactor) => (notification) => inner.notify(redactor().value(notification)),
  request: (inner, redactor) => (request, options) => inner.request(redactor().value(request), options),
}

export function redactingChannel(channel: ClientChannel, redactor: CurrentRedactor): ClientChannel {
  return build(CHANNEL, channel, redactor)
}

const SESSION: Table<ClientSession, CurrentRedactor> = {
  id: (inner) => inner.id,
  capabilities: (inner) => () => inner.capabilities(),
  channel: (inner, redactor) => redactingChannel(inner.channel, redactor),
  onClose: (inner) => (listener) => inner.onClose(listener),
}

/** A client session as sources may see it: messages on its channel are redacted with the newest runtime's redactor. */
export function redactingSession(session: ClientSession, redactor: CurrentRedactor): ClientSession {
  return build(SESSION, session, redactor)
}

// ---- calls ----------------------------------------------------------------------------------

/** Wraps every item, answer and error of one source. */
class SourceRedaction {
  /** Wrapped items per list the source returned, for as long as the redactor stays the same: catalog lookups need stable items. */
  private readonly lists = new WeakMap<readonly object[], {redactor: Redactor; items: readonly object[]}>()

  constructor(readonly current: CurrentRedactor) {}

  items<T extends CatalogItem>(list: readonly T[]): readonly T[] {
    const redactor = this.current()
    const cached = this.lists.get(list)
    if (cached?.redactor === redactor) return cached.items as readonly T[]
    const items = list.map((item) => this.item(item))
    this.lists.set(list, {redactor, items})
    return items
  }

  item<T extends CatalogItem>(item: T): T {
    if (item.kind === 'tool') return build(TOOL, item, this) as T
    if (item.kind === 'prompt') return build(PROMPT, item, this) as T
    return build(RESOURCE, item as SourceResource, this) as T
  }

  descriptors<T>(list: readonly T[]): readonly T[] {
    const redactor = this.current()
    const cached = this.lists.get(list as readonly object[])
    if (cached?.redactor === redactor) return cached.items as readonly T[]
    const out = list.map((d) => redactor.data(d))
    this.lists.set(list as readonly object[], {redactor, items: out as readonly object[]})
    return out
  }

  /** Runs one call of the source with the env it may see, and redacts what it answers or fails with. */
  async answer<T>(env: CallEnv | undefined, work: (env: CallEnv | undefined) => T | Promise<T>): Promise<T> {
    const redaction: Redaction = env?.redaction ?? {redactor: this.current(), found: new Set()}
    try {
      return redaction.redactor.value(await work(env && innerEnv(env, redaction.redactor)), redaction.found)
    } catch (err) {
      throw redactedError(err, redaction)
    }
  }
}

/** The env the source sees: no redaction to tamper with, and the call's channel redacted with the call's redactor. */
function innerEnv({redaction: _taken, ...env}: CallEnv, redactor: Redactor): CallEnv {
  return env.client ? {...env, client: redactingChannel(env.client, () => redactor)} : env
}

/** A refusal, or an error with a JSON-RPC code (which reaches the client as it is), redacted; anything else is left to the execute stage, which never shows it. */
function redactedError(err: unknown, {redactor, found}: Redaction): unknown {
  if (!(err instanceof Refusal) && !isJsonRpcError(err)) return err
  const refusal = err instanceof Refusal ? err : Refusal.fromUpstream(err.code, err.message, err.data)
  const message = redactor.text(refusal.message, found)
  const data = redactor.data(refusal.data, found)
  return message === refusal.message && data === refusal.data ? refusal : refusal.withText(message, data)
}

const TOOL: Table<SourceTool, SourceRedaction> = {
  kind: () => 'tool',
  descriptor: (inner, r) => r.current().data(inner.descriptor),
  call: (inner, r) => (args, env) => r.answer(env, (e) => inner.call(args, e!)),
  neverAsks: (inner) => inner.neverAsks,
}

const PROMPT: Table<SourcePrompt, SourceRedaction> = {
  kind: () => 'prompt',
  descriptor: (inner, r) => r.current().data(inner.descriptor),
  get: (inner, r) => (args, env) => r.answer(env, (e) => inner.get(args, e!)),
  neverAsks: (inner) => inner.neverAsks,
}

const RESOURCE: Table<SourceResource, SourceRedaction> = {
  kind: () => 'resource',
  descriptor: (inner, r) => r.current().data(inner.descriptor),
  read: (inner, r) => (env) => r.answer(env, (e) => inner.read(e!)),
  subscribe: (inner, r) => inner.subscribe && ((env) => r.answer(env, (e) => inner.subscribe!(e!))),
  unsubscribe: (inner, r) => inner.unsubscribe && ((env) => r.answer(env, (e) => inner.unsubscribe!(e!))),
  neverAsks: (inner) => inner.neverAsks,
}

// ---- sources --------------------------------------------------------------------------------

const SOURCE: Table<ToolSource, SourceRedaction> = {
  name: (inner) => inner.name,
  tools: (inner, r) => (session) => r.items(inner.tools(session)),
  prompts: (inner, r) => (session) => r.items(inner.prompts(session)),
  resources: (inner, r) => (session) => r.items(inner.resources(session)),
  hasSessionItems: (inner) => (session) => inner.hasSessionItems?.(session) ?? false,
  resourceTemplates: (inner, r) => () => r.descriptors(inner.resourceTemplates?.() ?? NO_TEMPLATES),
  resourceFor: (inner, r) => (uri) => {
    const item = inner.resourceFor?.(uri)
    return item && r.item(item)
  },
  // These carry nothing to a client: which kind of list changed, whether the source has listed once.
  onChange: (inner) => (listener) => inner.onChange?.(listener) ?? (() => {}),
  listedOnce: {live: (inner) => inner.listedOnce},
  complete: (inner, r) => (params, env) => r.answer(env, (e) => (inner.complete ? inner.complete(params, e!) : {completion: {values: []}})),
}

const NO_TEMPLATES: readonly never[] = []

/** A source whose every answer, error, list and message is redacted on its way to a client. */
export function redactingSource(source: ToolSource, redactor: CurrentRedactor): ToolSource {
  return build(SOURCE, source, new SourceRedaction(redactor))
}
