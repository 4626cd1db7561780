/** The order `keyward serve` shuts down in (src/server/shutdown.ts): a step that hangs does not keep the others, or the audit log, from closing. */
import assert from 'node:assert/strict'

import type {OpenAudit} from '../../../src/server/open-audit.js'
import {shutDown} from '../../../src/server/shutdown.js'

function audit(events: string[]): OpenAudit {
  return {record: async (r: {event: string}) => void events.push(r.event), ready: async () => true, close: async () => void events.push('audit closed')} as unknown as OpenAudit
}

describe('shutdown', () => {
  it('goes on past a step that never ends, and past one that fails, then closes the audit log', async () => {
    const events: string[] = []
    const log: string[] = []
    await shutDown(
      [
        ['the transport', () => new Promise(() => {})],
        ['redis', () => Promise.reject(new Error('gone'))],
        ['the upstreams', () => void events.push('upstreams closed')],
      ],
      audit(events),
      {},
      (_level, message) => void log.push(message),
      50,
    )
    assert.deepEqual(events, ['upstreams closed', 'server.stop', 'audit closed'])
    assert.deepEqual(log, ['shutting down: closing the transport took over 0.05 s; going on without it', 'shutting down: closing redis failed (gone)'])
  })
})
