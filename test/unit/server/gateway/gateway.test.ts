/** What decides that serve restarts an upstream: its definition and what it resolves to, not notes kept beside it. */
import assert from 'node:assert/strict'

import {fingerprint} from '../../../../src/server/gateway/gateway.js'
import type {StdioUpstream} from '../../../../src/upstreams/index.js'
import {emptyData} from '../../../../src/vault/payload.js'

const context = {vaultId: 'v-test', vaultFile: '/nonexistent/vault.json'}
const def: StdioUpstream = {name: 'up', transport: 'stdio', command: 'node', args: ['server.js'], env: {MODE: {literal: 'a'}}, prefix: true, created: '2026-11-01T00:00:00Z', updated: '2026-11-01T00:00:00Z'}

describe('server/gateway/gateway fingerprint', () => {
  const data = emptyData()
  const print = (d: StdioUpstream) => fingerprint(d, data, context)

  it('is the same when only what `upstream test` found, or the times, changed: a running upstream is not restarted', () => {
    const tested = {...def, tested: {era: 'modern' as const, protocolVersion: '2026-07-28', at: '2026-11-30T10:00:00Z'}}
    assert.equal(print(tested), print(def))
    assert.equal(print({...tested, tested: {era: 'legacy', protocolVersion: '2025-11-25', at: '2026-11-30T11:00:00Z'}}), print(def))
    assert.equal(print({...def, updated: '2026-11-30T12:00:00Z', created: '2026-01-01T00:00:00Z'}), print(def))
  })

  it('changes with what starts the upstream: its command, arguments, environment, isolation', () => {
    for (const changed of [{...def, command: 'deno'}, {...def, args: ['other.js']}, {...def, env: {MODE: {literal: 'b'}}}, {...def, isolation: 'session' as const}]) {
      assert.notEqual(print(changed), print(def), JSON.stringify(changed))
    }
  })
})
