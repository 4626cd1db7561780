/** The upstreams table: recording what `upstream test` found. */
import assert from 'node:assert/strict'

import {addUpstream, findUpstream, recordTested, type StdioUpstream} from '../../../src/upstreams/index.js'
import {emptyData} from '../../../src/vault/payload.js'

const def: StdioUpstream = {name: 'up', transport: 'stdio', command: 'node', args: ['server.js'], env: {}, prefix: true, created: '2026-11-01T00:00:00Z', updated: '2026-11-01T00:00:00Z'}
const found = {era: 'modern' as const, protocolVersion: '2026-07-28', at: '2026-11-30T10:00:00.000Z'}

describe('upstreams/store recordTested', () => {
  it('records the era, the revision and when, leaving the definition and its update time as they were', () => {
    const data = emptyData()
    addUpstream(data, def)
    assert.equal(recordTested(data, def, found), true)
    assert.deepEqual(findUpstream(data, 'up'), {...def, tested: found})
    // Tested again: the newer finding replaces the older one.
    const later = {era: 'legacy' as const, protocolVersion: '2025-11-25', at: '2026-11-30T11:00:00.000Z'}
    assert.equal(recordTested(data, findUpstream(data, 'up'), later), true)
    assert.deepEqual(findUpstream(data, 'up').tested, later)
    assert.equal(findUpstream(data, 'up').updated, def.updated)
  })

  it('records nothing on a definition changed, replaced or removed since it was tested', () => {
    const data = emptyData()
    addUpstream(data, {...def, args: ['new.js']})
    assert.equal(recordTested(data, def, found), false)
    assert.equal(findUpstream(data, 'up').tested, undefined)
    assert.equal(recordTested(emptyData(), def, found), false)
  })

  it('records nothing the upstream could have made up: a revision that is not a date, an unknown era', () => {
    const data = emptyData()
    addUpstream(data, def)
    for (const bad of [{...found, protocolVersion: '\u001b[31m2026-07-28'}, {...found, protocolVersion: 'x'.repeat(500)}, {...found, era: 'future' as 'modern'}]) {
      assert.equal(recordTested(data, def, bad), false, JSON.stringify(bad))
    }
    assert.equal(findUpstream(data, 'up').tested, undefined)
  })
})
