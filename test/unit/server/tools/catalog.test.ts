/** Who owns a resource URI when two sources offer it (issue 15.14). */
import assert from 'node:assert/strict'

import type {ResourceTemplate} from '@modelcontextprotocol/sdk/types.js'

import {ScopeSet} from '../../../../src/policy/index.js'
import {templateMatches} from '../../../../src/server/gateway/upstream-source.js'
import {Redactor} from '../../../../src/guard/redactor.js'
import {Catalog} from '../../../../src/server/tools/catalog.js'
import type {ItemKind, SourceResource, ToolSource} from '../../../../src/server/tools/source.js'

/** A source as an upstream is: it lists resources (and templates) once it has started. */
class FakeUpstream implements ToolSource {
  listedOnce = false
  private uris: string[] = []
  private templateList: ResourceTemplate[] = []
  private readonly listeners = new Set<(kind: ItemKind) => void>()

  constructor(readonly name: string) {}

  list(uris: string[], templates: string[] = []): void {
    this.uris = uris
    this.templateList = templates.map((uriTemplate) => ({uriTemplate, name: uriTemplate}))
    this.listedOnce = true
    for (const l of this.listeners) l('resource')
  }

  private item(uri: string): SourceResource {
    return {kind: 'resource', descriptor: {uri, name: uri}, read: () => ({contents: [{uri, text: `${this.name} served ${uri}`}]})}
  }

  tools = () => []
  prompts = () => []
  resources = () => this.uris.map((uri) => this.item(uri))
  resourceTemplates = () => this.templateList
  resourceFor = (uri: string) => (this.templateList.some((t) => templateMatches(t.uriTemplate, uri)) ? this.item(uri) : undefined)

  onChange(listener: (kind: ItemKind) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}

const scopes = new ScopeSet(['resource:**'])
async function reader(catalog: Catalog, uri: string): Promise<string | undefined> {
  const item = catalog.find('resource', scopes, uri)
  if (!item) return undefined
  const result = await item.read({} as never)
  return (result.contents[0] as {text: string}).text
}

describe('catalog: resource ownership', () => {
  it('a URI belongs to the source mounted first, whichever lists first; a later one cannot take it over by list_changed', async () => {
    const b = new FakeUpstream('b')
    const a = new FakeUpstream('a')
    const logged: string[] = []
    const catalog = new Catalog([b, a], () => Redactor.none, (kind, name, kept, dropped) => logged.push(`${kind} ${name} ${kept} ${dropped}`))
    a.list(['b://secret', 'a://own'])
    assert.equal(await reader(catalog, 'b://secret'), undefined, 'held back while b has not listed: it may claim it')
    assert.equal(await reader(catalog, 'a://own'), undefined)
    assert.deepEqual(catalog.list('resource', scopes), [])
    b.list(['b://secret'])
    assert.equal(await reader(catalog, 'b://secret'), 'b served b://secret')
    assert.equal(await reader(catalog, 'a://own'), 'a served a://own')
    a.list(['b://secret', 'a://own', 'a://more'])
    b.list(['b://secret'])
    assert.equal(await reader(catalog, 'b://secret'), 'b served b://secret')
    assert.deepEqual(logged, ['resource b://secret b a'], 'logged once, however often the catalog is rebuilt')
  })

  it('a template of an earlier source claims the URIs it matches; a later template does not', async () => {
    const b = new FakeUpstream('b')
    const a = new FakeUpstream('a')
    const catalog = new Catalog([b, a], () => Redactor.none)
    b.list([], ['b://{path}'])
    a.list(['b://secret'], ['b://{+rest}', 'a://{x}'])
    assert.equal(await reader(catalog, 'b://secret'), 'b served b://secret')
    assert.equal(await reader(catalog, 'b://other'), 'b served b://other')
    assert.equal(await reader(catalog, 'a://x'), 'a served a://x')
  })

  it('a source that fails to start does not hold the others back for ever', async () => {
    const b = new FakeUpstream('b')
    const a = new FakeUpstream('a')
    const catalog = new Catalog([b, a], () => Redactor.none)
    a.list(['a://own'])
    assert.equal(await reader(catalog, 'a://own'), undefined)
    b.list([])
    assert.equal(await reader(catalog, 'a://own'), 'a served a://own')
  })

  it('templates match in linear time', () => {
    const started = performance.now()
    assert.equal(templateMatches('x://{+a}{+b}{+c}{+d}{+e}{+f}/end', `x://${'a'.repeat(20_000)}`), false)
    assert.ok(performance.now() - started < 500)
  })
})
