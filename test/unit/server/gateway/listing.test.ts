/**
 * What one upstream connection lists (src/server/gateway/listing.ts), against a client whose
 * pages are a hostile upstream's: a listing is bounded in bytes across its pages, not only per
 * page, and a page of more items than a call takes arguments is read.
 */
import assert from 'node:assert/strict'

import {Client} from '@modelcontextprotocol/client'
import type {Tool} from '@modelcontextprotocol/server'

import {listAll, listKind, noListing, type ListingCut, type ListingRefusal} from '../../../../src/server/gateway/listing.js'

const MiB = 1024 * 1024

/**
 * A client whose upstream offers tools only, in the pages `page(n)` makes; `asked` counts the
 * pages requested. It has no list methods: the SDK's walk every page before keyward sees one.
 */
function toolsClient(page: (n: number) => {tools: Tool[]; nextCursor?: string}) {
  const client = {
    asked: 0,
    getServerCapabilities: () => ({tools: {}}),
    request: async ({method, params}: {method: string; params?: {cursor?: string}}) => {
      assert.equal(method, 'tools/list')
      return page(client.asked++ === 0 ? 0 : Number(params?.cursor))
    },
  }
  return client
}

const tool = (name: string, padding = 0): Tool => ({name, inputSchema: {type: 'object'}, ...(padding > 0 && {_meta: {pad: 'x'.repeat(padding)}})})

describe('gateway: what an upstream connection lists (listing.ts)', () => {
  it('a listing stops at 32 MiB in all, however many pages of up to 32 MiB each the upstream offers: no page past it is asked for, and the cut is reported once, with how many items are kept', async () => {
    // 1 MiB an item, one item a page, 100 pages on offer: 100 MiB held before.
    const client = toolsClient((n) => ({tools: [tool(`t${n}`, MiB)], nextCursor: String(n + 1)}))
    const cuts: (ListingCut | ListingRefusal)[] = []
    const into = noListing()
    await listAll(client as unknown as Client, into, (cut) => cuts.push(cut))
    const held = into.tool.reduce((n, t) => n + JSON.stringify(t).length, 0)
    assert.ok(held <= 32 * MiB, `the listing holds ${held} bytes`)
    assert.equal(into.tool.length, 31, 'the items that fit are kept, in order')
    assert.deepEqual(into.tool.map((t) => t.name).slice(0, 2), ['t0', 't1'])
    assert.ok(client.asked <= 32, `${client.asked} pages asked for`)
    assert.deepEqual(cuts, [{what: 'tools', kept: 31, bound: '32 MiB in all'}])
  })

  it('a page of more items than a function call takes as arguments is read (no RangeError), and kept to 10,000 items, the cut reported', async () => {
    const client = toolsClient(() => ({tools: Array.from({length: 200_000}, (_, i) => tool(`t${i}`))}))
    const cuts: (ListingCut | ListingRefusal)[] = []
    const into = noListing()
    await listKind(client as unknown as Client, 'tool', into, (cut) => cuts.push(cut))
    assert.equal(into.tool.length, 10_000)
    assert.deepEqual(cuts, [{what: 'tools', kept: 10_000, bound: '10000 items'}])
  })

  it("the SDK's own check of x-mcp-header declarations, which listing.ts calls on each page, is still there (an SDK without it fails here; test/e2e/era.test.ts shows a tool left out)", () => {
    assert.equal(typeof (Client.prototype as unknown as Record<string, unknown>)._excludeInvalidXMcpHeaderTools, 'function')
  })

  it('an upstream that pages for ever is asked for 100 pages, and the cut reported; one whose listing fits is not reported', async () => {
    const endless = toolsClient((n) => ({tools: [tool(`t${n}`)], nextCursor: String(n + 1)}))
    const cuts: (ListingCut | ListingRefusal)[] = []
    const into = noListing()
    await listKind(endless as unknown as Client, 'tool', into, (cut) => cuts.push(cut))
    assert.equal(endless.asked, 100)
    assert.deepEqual(cuts, [{what: 'tools', kept: 100, bound: '100 pages'}])
    const fits = toolsClient((n) => ({tools: [tool(`t${n}`, 1024)], ...(n < 9 && {nextCursor: String(n + 1)})}))
    const none: (ListingCut | ListingRefusal)[] = []
    await listKind(fits as unknown as Client, 'tool', noListing(), (cut) => none.push(cut))
    assert.equal(fits.asked, 10)
    assert.deepEqual(none, [])
  })
})
