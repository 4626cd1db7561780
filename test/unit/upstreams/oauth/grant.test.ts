/**
 * The fetch of every login and renewal request (src/upstreams/oauth/grant.ts, timedFetch): an
 * authorization server (or the upstream, during discovery) may be hostile. Its answer is bounded
 * in time and in size: a body of hundreds of MiB is not read whole into serve's memory.
 */
import assert from 'node:assert/strict'

import {MAX_RESPONSE_BYTES, timedFetch} from '../../../../src/upstreams/oauth/grant.js'
import {fillerServer} from '../../../helpers/filler.js'

/** A token endpoint that answers `padding` bytes of whitespace before a valid token response; `written` is how many it got to write. */
const endpoint = (padding: number) =>
  fillerServer('/token', (_req, res, fill) => {
    res.writeHead(200, {'content-type': 'application/json'})
    fill(res, padding, '{"access_token":"a","token_type":"Bearer"}')
  })

describe('the fetch of upstream OAuth requests', () => {
  it('a huge answer (64 MiB) is refused once it passes the limit, not read whole into memory', async () => {
    const server = await endpoint(64 * 1024 * 1024)
    try {
      const response = await timedFetch(server.url, {method: 'POST'})
      await assert.rejects(response.json(), new RegExp(`over ${MAX_RESPONSE_BYTES / (1024 * 1024)} MiB`))
      assert.ok(server.written() < 32 * 1024 * 1024, `the server got to write ${server.written()} bytes`)
    } finally {
      await server.close()
    }
  })

  it('an ordinary answer is read as it is', async () => {
    const server = await endpoint(0)
    try {
      const response = await timedFetch(server.url, {method: 'POST'})
      assert.equal(response.status, 200)
      assert.deepEqual(await response.json(), {access_token: 'a', token_type: 'Bearer'})
    } finally {
      await server.close()
    }
  })
})
