/** What a request must look like before the console reads its cookie: its own Host, its own Origin, its own site. */
import assert from 'node:assert/strict'

import {checkRequest, type GuardedRequest} from '../../../src/ui/http/guard.js'

const PORT = 40123
const ok = (r: Partial<GuardedRequest>) => checkRequest({method: 'GET', path: '/api/keys', host: `127.0.0.1:${PORT}`, ...r}, PORT)

describe('console request guard', () => {
  it('accepts its own host names on its own port, and nothing else (DNS rebinding)', () => {
    assert.equal(ok({}), undefined)
    assert.equal(ok({host: `localhost:${PORT}`}), undefined)
    for (const host of [undefined, 'evil.example', `evil.example:${PORT}`, `127.0.0.1:${PORT + 1}`, '127.0.0.1', `[::1]:${PORT}`, `0.0.0.0:${PORT}`]) {
      assert.equal(ok({host})?.status, 421, String(host))
    }
  })

  it('refuses another origin, another port of the same host included, and a change with no Origin', () => {
    assert.equal(ok({origin: `http://127.0.0.1:${PORT}`}), undefined)
    assert.equal(ok({method: 'POST', origin: `http://127.0.0.1:${PORT}`}), undefined)
    for (const origin of ['http://evil.example', `http://127.0.0.1:${PORT + 1}`, `http://localhost:${PORT}`, 'null', `https://127.0.0.1:${PORT}`]) {
      assert.equal(ok({origin})?.status, 403, origin)
    }
    assert.equal(ok({method: 'POST'})?.status, 403)
  })

  it('Sec-Fetch-Site: the API only from the same origin; pages also from a typed address; the login link from anywhere', () => {
    assert.equal(ok({fetchSite: 'same-origin'}), undefined)
    for (const site of ['same-site', 'cross-site', 'none']) assert.equal(ok({fetchSite: site})?.status, 403, site)
    assert.equal(ok({path: '/', fetchSite: 'none'}), undefined)
    assert.equal(ok({path: '/', fetchSite: 'same-site'})?.status, 403)
    assert.equal(ok({path: '/login', fetchSite: 'cross-site'}), undefined)
    assert.equal(ok({method: 'POST', path: '/login', origin: `http://127.0.0.1:${PORT}`, fetchSite: 'cross-site'})?.status, 403)
  })
})
