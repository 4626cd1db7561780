/**
 * Heartbeats (src/redis/heartbeat.ts): which records are a replica's own, and what `keyward
 * status` warns about (replicas behind, silent, or ahead in time).
 */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'

import {MAX_RECORD_BYTES, openHeartbeat, replicaKey, replicaWarnings, SILENT_MS, type ReplicaInfo} from '../../../src/redis/heartbeat.js'
import {sign} from '../../../src/redis/signing.js'
import {canonicalJson} from '../../../src/vault/format.js'

const replica = (generation: number, ageMs: number): ReplicaInfo & {ageMs: number} => ({
  id: 'r',
  vaultId: 'v',
  host: 'web-1',
  pid: 1,
  generation,
  version: '0.1.0',
  startedAt: '',
  uptimeSeconds: 1,
  redis: 'ok',
  at: 0,
  ageMs,
})

describe('replica warnings', () => {
  it('none for a replica on the current generation, heard from within the window', () => {
    assert.deepEqual(replicaWarnings(replica(42, 0), 42), [])
    assert.deepEqual(replicaWarnings(replica(42, SILENT_MS), 42), [])
    assert.deepEqual(replicaWarnings(replica(43, 100), 42), [], 'ahead of what this host knows is not a lag')
  })

  it('generations behind, not heard from, or a clock far ahead', () => {
    assert.deepEqual(replicaWarnings(replica(41, 0), 42), ['1 generation behind (serves 41, the vault is at 42)'])
    assert.deepEqual(replicaWarnings(replica(40, 14_200), 42), ['2 generations behind (serves 40, the vault is at 42)', 'not heard from for 14s'])
    assert.deepEqual(replicaWarnings(replica(42, -SILENT_MS - 3000), 42), ["its clock is 9s ahead of this host's"])
  })
})

describe('a heartbeat record', () => {
  const key = randomBytes(32)
  const VAULT = '8f6e0883-0000-4000-8000-000000000001'
  const info: ReplicaInfo = {id: 'web-1-812-a1b2c3', vaultId: VAULT, host: 'web-1', pid: 812, url: 'http://10.0.0.11:8765/mcp', generation: 42, version: '0.1.0', startedAt: '2026-11-26T14:00:00.000Z', uptimeSeconds: 3610, redis: 'ok', at: 1_790_000_000_000}
  /** Signed as a replica signs it, whatever it holds: a holder of the key could, a Redis writer cannot. */
  const signed = (record: Record<string, unknown>) => JSON.stringify({...record, mac: sign(key, 'heartbeat', [canonicalJson(record)])})
  const open = (value: string, name = replicaKey(VAULT, info.id)) => openHeartbeat(key, VAULT, name, value)

  it('opens when signed and stored under its own replica id', () => {
    assert.deepEqual(open(signed({...info})), info)
  })

  it('is not a replica under another name (a genuine record copied), nor for another vault', () => {
    assert.equal(open(signed({...info}), replicaKey(VAULT, 'copy0')), undefined)
    assert.equal(openHeartbeat(key, VAULT.replace(/1$/, '2'), replicaKey(VAULT.replace(/1$/, '2'), info.id), signed({...info})), undefined)
  })

  it('is judged by its shape before its MAC: unknown fields, nested or non-plain values, long texts, too many bytes', () => {
    for (const [what, record] of [
      ['an unknown field', {...info, extra: 1}],
      ['a nested value', {...info, host: {deep: [[[]]]}}],
      ['a number as text', {...info, pid: '812'}],
      ['a fraction', {...info, generation: 1.5}],
      ['a long text', {...info, host: 'h'.repeat(2000)}],
    ] as [string, Record<string, unknown>][]) {
      assert.equal(open(signed(record)), undefined, what)
    }
    const big = signed({...info})
    assert.equal(open(big.padEnd(MAX_RECORD_BYTES + 1, ' ')), undefined, 'larger than a heartbeat may be')
    assert.equal(open(`{"x":${'['.repeat(1500)}${']'.repeat(1500)}}`), undefined)
  })
})
