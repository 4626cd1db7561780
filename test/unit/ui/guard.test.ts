/** What a request must look like before the console reads its cookie: its own Host, its own Origin, its own site. */
import assert from 'node:assert/strict'

import {checkRequest, type GuardedRequest} from '../../../src/ui/http/guard.js'

const PORT = 40123
const ok = (r: Partial<GuardedRequest>) => checkRequest({method: 'GET', path: '/api/keys', host: `127.0.0.1:${PORT}`, ...r}, '127.0.0.1', PORT)

describe('console request guard', () => {
  it('accepts its own host names on its own port, and nothing else (DNS rebinding)', () => {
    assert.equal(ok({}), undefined)
    assert.equal(ok({host: `localhost:${PORT}`}), undefined)
    for (const host of [undefined, 'evil.example', `evil.example:${PORT}`, `127.0.0.1:${PORT + 1}`, '127.0.0.1', `[::1]:${PORT}`, `0.0.0.0:${PORT}`]) {
      assert.equal(ok({host})?.status, 421, String(host))
    }
  })

  it('bound to a loopback address of its own, answers to that alone: not 127.0.0.1, not localhost', () => {
    const own = '127.83.1.9'
    const at = (r: Partial<GuardedRequest>) => checkRequest({method: 'GET', path: '/api/keys', host: `${own}:${PORT}`, ...r}, own, PORT)
    assert.equal(at({}), undefined)
    assert.equal(at({origin: `http://${own}:${PORT}`}), undefined)
    for (const host of [`127.0.0.1:${PORT}`, `localhost:${PORT}`, `127.83.1.10:${PORT}`]) assert.equal(at({host})?.status, 421, host)
    assert.equal(at({origin: `http://127.0.0.1:${PORT}`})?.status, 403)
  })

  it('refuses another origin, another port of the same host included, and a change with no Origin', () => {
    assert.equal(ok({origin: `http://127.0.0.1:${PORT}`}), undefined)
    assert.equal(ok({method: 'POST', origin: `http://127.0.0.1:${PORT}`}), undefined)
    for (const origin of ['http://evil.example', `http://127.0.0.1:${PORT + 1}`, `http://localhost:${PORT}`, 'null', `https://127.0.0.1:${PORT}`]) {
      assert.equal(ok({origin})?.status, 403, origin)
    }
    assert.equal(ok({method: 'POST'})?.status, 403)
  })

  it('a refusal quotes what came in with every control and invisible character escaped: it is printed on the operator’s terminal (review)', () => {
    const csi = '\u009b31m'
    const byOrigin = ok({origin: `http://evil.example${csi}\u202e`})!.reason
    const bySite = ok({fetchSite: `cross-site${csi}`})!.reason
    for (const reason of [byOrigin, bySite]) {
      assert.doesNotMatch(reason, /[\u0000-\u001f\u007f-\u009f\u202e]/u, reason)
      assert.match(reason, /\\u\{9B\}31m/)
    }
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
