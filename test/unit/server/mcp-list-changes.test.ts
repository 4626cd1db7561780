/**
 * Who hears of list changes (ConnectedServers in src/server/mcp.ts): a client connection or a
 * listen stream, by what its principal may see as it stands now, not as of its latest request.
 */
import assert from 'node:assert/strict'

import type {Principal} from '../../../src/auth/index.js'
import {Redactor} from '../../../src/guard/redactor.js'
import {ScopeSet} from '../../../src/policy/index.js'
import {ConnectedServers} from '../../../src/server/mcp.js'
import {Catalog} from '../../../src/server/tools/catalog.js'
import {StaticSource, type ItemKind, type SourceTool} from '../../../src/server/tools/source.js'

const keyPrincipal = (...scopes: string[]): Principal => ({id: 'key:k1', authType: 'api_key', name: 'agent', keyId: 'k1', scopes: new ScopeSet(scopes)})
const tool = (name: string): SourceTool => ({kind: 'tool', descriptor: {name, inputSchema: {type: 'object'}}, call: () => ({content: []})})

describe('mcp: list changes follow the principal as it stands now (ConnectedServers)', () => {
  it('a client whose key narrowed is told its list changed when the reload rebuilds the catalog, and then hears only of what it may still see', () => {
    const source = new StaticSource('up', {tools: [tool('a__x'), tool('b__y')]})
    const catalog = new Catalog([source], () => Redactor.none)
    // What the session's latest request carried; the vault's record of the key is `now`.
    const held = keyPrincipal('a__*', 'b__*')
    let now: Principal | undefined = held
    const connected = new ConnectedServers(catalog, (p) => (p.id === held.id ? now : undefined))
    const heard: ItemKind[] = []
    connected.watch({principal: () => held, changed: (kind) => heard.push(kind)})
    // keys scope agent --remove 'b__*', then the reload: a new runtime, the catalog rebuilt.
    now = keyPrincipal('a__*')
    catalog.refresh()
    assert.deepEqual(heard, ['tool'], 'the narrowed client was not told its tool list changed')
    source.set('tool', [tool('a__x'), tool('b__y'), tool('b__z')])
    assert.deepEqual(heard, ['tool'], 'told of a tool only its old scopes could see')
    source.set('tool', [tool('a__x'), tool('a__w'), tool('b__y'), tool('b__z')])
    assert.deepEqual(heard, ['tool', 'tool'], 'a change it may see is still told')
    // Revoked: no principal any more, nothing told (its session is closed by the prune).
    now = undefined
    source.set('tool', [tool('a__v')])
    assert.deepEqual(heard, ['tool', 'tool'])
  })
})
