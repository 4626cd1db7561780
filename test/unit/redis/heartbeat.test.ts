/** What `keyward status` warns about (src/redis/heartbeat.ts): replicas behind, silent, or ahead in time. */
import assert from 'node:assert/strict'

import {replicaWarnings, SILENT_MS, type ReplicaInfo} from '../../../src/redis/heartbeat.js'

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
