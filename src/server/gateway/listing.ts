/**
 * What one upstream connection lists: its tools, prompts, resources and resource templates, page
 * by page and bounded, as the upstream answers them (before the pin gate decides what is served;
 * upstream-source.ts).
 */
import type {Client} from '@modelcontextprotocol/client'
import type {Prompt, Resource, ResourceTemplateType as ResourceTemplate, Tool} from '@modelcontextprotocol/server'

import type {PinKind} from '../../upstreams/pins.js'
import type {ItemKind} from '../tools/source.js'

const MAX_ITEMS = 10_000
const MAX_PAGES = 100

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

async function paged<T>(fetch: (cursor?: string) => Promise<{items: T[]; nextCursor?: string}>): Promise<T[]> {
  const out: T[] = []
  let cursor: string | undefined
  for (let page = 0; page < MAX_PAGES && out.length < MAX_ITEMS; page++) {
    const {items, nextCursor} = await fetch(cursor)
    out.push(...items)
    if (!nextCursor) break
    cursor = nextCursor
  }
  return out.slice(0, MAX_ITEMS)
}

const page = (cursor?: string) => (cursor ? {cursor} : undefined)

/** Lists one kind into `into` (resources: the resources and their templates). */
export async function listKind(client: Client, kind: ItemKind, into: RawListing): Promise<void> {
  if (kind === 'tool') {
    // The v2 client's Tool types a schema's properties as JSON values, the 1.x server's as objects: one wire shape.
    into.tool = await paged<Tool>(async (cursor) => {
      const r = await client.listTools(page(cursor))
      return {items: r.tools as Tool[], nextCursor: r.nextCursor}
    })
  } else if (kind === 'prompt') {
    into.prompt = await paged<Prompt>(async (cursor) => {
      const r = await client.listPrompts(page(cursor))
      return {items: r.prompts, nextCursor: r.nextCursor}
    })
  } else {
    into.resource = await paged<Resource>(async (cursor) => {
      const r = await client.listResources(page(cursor))
      return {items: r.resources, nextCursor: r.nextCursor}
    })
    into.template = await paged<ResourceTemplate>(async (cursor) => {
      const r = await client.listResourceTemplates(page(cursor))
      return {items: r.resourceTemplates, nextCursor: r.nextCursor}
    }).catch(() => [])
  }
}

/** Lists every kind the upstream offers. */
export async function listAll(client: Client, into: RawListing): Promise<void> {
  const caps = client.getServerCapabilities() ?? {}
  if (caps.tools) await listKind(client, 'tool', into)
  if (caps.prompts) await listKind(client, 'prompt', into)
  if (caps.resources) await listKind(client, 'resource', into)
}
