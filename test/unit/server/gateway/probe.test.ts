/**
 * The one-off look at an upstream (src/server/gateway/probe.ts) that `upstream test`, `add`,
 * `scan` and the console make: what it fails with is shown to the operator, in a terminal, a
 * --json error or the console, so it carries no secret the upstream quoted.
 */
import assert from 'node:assert/strict'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'

import {Server as LegacyServer} from '@modelcontextprotocol/sdk/server/index.js'
import {ListToolsRequestSchema} from '@modelcontextprotocol/sdk/types.js'

import {probeUpstream} from '../../../../src/server/gateway/probe.js'
import type {UpstreamDefinition} from '../../../../src/upstreams/index.js'
import {emptyData} from '../../../../src/vault/payload.js'
import {legacyUpstream} from '../../../helpers/gateway-units.js'

describe('gateway: probing an upstream (probe.ts)', function () {
  this.timeout(20_000)

  it('fails with the upstream\'s error redacted: a secret it quotes does not reach `upstream test`', async () => {
    const SECRET = 'sk-live-0123456789abcdef'
    // A database server whose listing fails with its driver's error, password included, as drivers write it.
    const handle = legacyUpstream(() => {
      const server = new LegacyServer({name: 'leaky', version: '1.0.0'}, {capabilities: {tools: {}}})
      server.setRequestHandler(ListToolsRequestSchema, async () => {
        throw new Error(`cannot reach postgres://app:${SECRET}@db:5432/app`)
      })
      return server
    })
    const http = createServer((req, res) => void handle(req, res).catch(() => res.destroy()))
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    const def = {name: 'up', transport: 'http', url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, headers: {}, prefix: true} as unknown as UpstreamDefinition
    const data = emptyData()
    const now = new Date().toISOString()
    data.secrets.set('DB_PASSWORD', {value: Buffer.from(SECRET), created: now, updated: now})
    try {
      await assert.rejects(probeUpstream(def, data, {timeoutMs: 5000, version: '0', log: () => {}, context: {vaultId: 'v', vaultFile: '/nonexistent'}}), (err: Error) => {
        assert.ok(err.message.includes('[REDACTED:DB_PASSWORD]'), err.message)
        assert.ok(!err.message.includes(SECRET), err.message)
        return true
      })
    } finally {
      http.closeAllConnections()
      http.close()
    }
  })
})
