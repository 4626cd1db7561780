/**
 * What one upstream connection lists: its tools, prompts, resources and resource templates, page
 * by page and bounded, as the upstream answers them (before the pin gate decides what is served;
 * upstream-source.ts).
 *
 * The upstream chooses how many pages it offers and how big each is (up to 32 MiB, the most
 * keyward reads of one answer), so a listing is bounded in all: 100 pages, 10,000 items, and
 * 32 MiB of items (resources and their templates together). What passes a bound is not kept, and
 * the caller is told where its listing was cut (ListingCut), to tell the operator.
 */
import type {Client} from '@modelcontextprotocol/client'
import type {Prompt, Resource, ResourceTemplateType as ResourceTemplate, Tool} from '@modelcontextprotocol/server'

import type {PinKind} from '../../upstreams/pins.js'
import {invalidDeclaration, withoutDeclarations} from '../era/param-headers.js'
import {isPlainObject} from '../era/protocol.js'
import type {ItemKind} from '../tools/source.js'

const MAX_ITEMS = 10_000
const MAX_PAGES = 100
/** The items of one listing, in all, as JSON (what each costs to hold, near enough: it was parsed from that). */
const MAX_BYTES = 32 * 1024 * 1024

/** Where a listing stopped short: what it listed, the bound it reached, and how many items it kept. */
export interface ListingCut {
  what: 'tools' | 'prompts' | 'resources' | 'resource templates'
  kept: number
  bound: string
}

/**
 * Tools a page listed whose x-mcp-header declarations are not valid (SEP-2243), which no client
 * may be offered as listed: left out (`refused`: a 2026-07-28 HTTP upstream's, which its SDK
 * client will not call), or offered without the declarations (`stripped`: any other upstream's,
 * which never reads the headers they ask for).
 */
export type ListingRefusal = {what: 'tools'; refused: number} | {what: 'tools'; stripped: number}

/** Told where a listing was cut, or what it left out. */
export type OnCut = (notice: ListingCut | ListingRefusal) => void

/** What the operator is told of a cut (worded as an answer over the per-answer limit is: bounded-response.ts), or of tools left out. */
export function cutText(upstream: string, notice: ListingCut | ListingRefusal): string {
  const some = (n: number) => `upstream ${upstream} listed ${n} tool${n === 1 ? '' : 's'} whose x-mcp-header declarations are not valid (SEP-2243)`
  if ('refused' in notice) return `${some(notice.refused)}: left out`
  if ('stripped' in notice) return `${some(notice.stripped)}: offered without them`
  return `upstream ${upstream}'s ${notice.what} ran past ${notice.bound}, which keyward does not read: the first ${notice.kept} are listed, and the rest are not`
}

/** What a connection listed, as the upstream sent it. */
export interface RawListing {
  tool: Tool[]
  prompt: Prompt[]
  template: ResourceTemplate[]
  resource: Resource[]
}

export function noListing(): RawListing {
  return {tool: [], prompt: [], template: [], resource: []}
}

/** The pin kind each item kind's listing carries (resources: their templates). */
export const PIN_KIND_OF: Record<ItemKind, PinKind> = {tool: 'tool', prompt: 'prompt', resource: 'template'}
export const ITEM_KINDS: readonly ItemKind[] = ['tool', 'prompt', 'resource']

/** The bytes a listing may still take (one per listKind: resources and templates share it). */
interface Budget {
  left: number
}

/** Each list's method, and the field of a page its items come in. */
const LISTS = {
  tools: {method: 'tools/list', field: 'tools'},
  prompts: {method: 'prompts/list', field: 'prompts'},
  resources: {method: 'resources/list', field: 'resources'},
  'resource templates': {method: 'resources/templates/list', field: 'resourceTemplates'},
} as const

/**
 * One page of a list, as the upstream sent it (the SDK checks its shape). Never through the
 * SDK's list methods without a cursor: those fetch every page themselves (up to 64, each of up to
 * 32 MiB, spread into one array) before keyward could count one, and fail the listing whole at
 * the 65th.
 */
async function onePage(client: Client, what: ListingCut['what'], cursor: string | undefined, onCut?: OnCut): Promise<{items: unknown[]; nextCursor?: string}> {
  const {method, field} = LISTS[what]
  const page = (await client.request({method, ...(cursor !== undefined && {params: {cursor}})})) as Record<string, unknown>
  if (what === 'tools') {
    const refused = dropUnmirrorable(client, page)
    if (refused > 0) onCut?.({what: 'tools', refused})
    const stripped = stripInvalidDeclarations(page)
    if (stripped > 0) onCut?.({what: 'tools', stripped})
  }
  const items = page[field]
  return {items: Array.isArray(items) ? items : [], nextCursor: typeof page.nextCursor === 'string' ? page.nextCursor : undefined}
}

/** The SDK's own check of a 2026-07-28 HTTP upstream's tools (SEP-2243), not exported. */
interface MirrorCheck {
  _excludeInvalidXMcpHeaderTools?(page: Record<string, unknown>): void
}

/**
 * Drops the tools whose x-mcp-header declarations are invalid, as a client must (SEP-2243) and as
 * the SDK's listTools does for each page it returns, by the SDK's own check
 * (test/unit/server/gateway/listing.test.ts notices an SDK without it); returns how many. The SDK
 * names each on console.warn, quoting the upstream's own text raw (a forged log line, terminal
 * escapes): that goes nowhere, and the caller tells the operator the count in keyward's log.
 */
function dropUnmirrorable(client: Client, page: Record<string, unknown>): number {
  const count = () => (Array.isArray(page.tools) ? page.tools.length : 0)
  const before = count()
  const warn = console.warn
  console.warn = () => {}
  try {
    ;(client as unknown as MirrorCheck)._excludeInvalidXMcpHeaderTools?.(page)
  } finally {
    console.warn = warn
  }
  return before - count()
}

/**
 * Takes the x-mcp-header declarations out of the tools whose declarations are not valid (what
 * dropUnmirrorable left: an upstream whose SDK client does not check them); returns how many.
 * The tool without them is what the pins hold and what clients are offered.
 */
function stripInvalidDeclarations(page: Record<string, unknown>): number {
  if (!Array.isArray(page.tools)) return 0
  let stripped = 0
  page.tools = page.tools.map((tool: unknown) => {
    if (!isPlainObject(tool) || invalidDeclaration(tool.inputSchema) === undefined) return tool
    stripped++
    return {...tool, inputSchema: withoutDeclarations(tool.inputSchema)}
  })
  return stripped
}

/**
 * The pages of one list, in order, until the upstream has no more or a bound is reached. Each
 * item's size is its JSON's, counted as it is kept: the count costs no more than the budget
 * itself, whatever the page holds.
 */
async function paged(client: Client, what: ListingCut['what'], budget: Budget, onCut?: OnCut): Promise<unknown[]> {
  const out: unknown[] = []
  const cut = (bound: string) => (onCut?.({what, kept: out.length, bound}), out)
  let cursor: string | undefined
  for (let page = 0; ; page++) {
    if (page === MAX_PAGES) return cut(`${MAX_PAGES} pages`)
    const {items, nextCursor} = await onePage(client, what, cursor, onCut)
    // One by one, never out.push(...items): a page may hold more items than a call takes arguments (a RangeError).
    for (const item of items) {
      if (out.length === MAX_ITEMS) return cut(`${MAX_ITEMS} items`)
      const size = Buffer.byteLength(JSON.stringify(item))
      if (size > budget.left) return cut(`${MAX_BYTES / (1024 * 1024)} MiB in all`)
      budget.left -= size
      out.push(item)
    }
    if (!nextCursor) return out
    cursor = nextCursor
  }
}

/** Lists one kind into `into` (resources: the resources and their templates); `onCut` hears of a list cut short. */
export async function listKind(client: Client, kind: ItemKind, into: RawListing, onCut?: OnCut): Promise<void> {
  const budget = {left: MAX_BYTES}
  // The SDK checked each page's shape (the v2 client's Tool types a schema's properties as JSON values, the 1.x server's as objects: one wire shape).
  if (kind === 'tool') into.tool = (await paged(client, 'tools', budget, onCut)) as Tool[]
  else if (kind === 'prompt') into.prompt = (await paged(client, 'prompts', budget, onCut)) as Prompt[]
  else {
    into.resource = (await paged(client, 'resources', budget, onCut)) as Resource[]
    into.template = (await paged(client, 'resource templates', budget, onCut).catch(() => [])) as ResourceTemplate[]
  }
}

/** Lists every kind the upstream offers. */
export async function listAll(client: Client, into: RawListing, onCut?: OnCut): Promise<void> {
  const caps = client.getServerCapabilities() ?? {}
  if (caps.tools) await listKind(client, 'tool', into, onCut)
  if (caps.prompts) await listKind(client, 'prompt', into, onCut)
  if (caps.resources) await listKind(client, 'resource', into, onCut)
}
