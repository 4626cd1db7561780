/** Which setting values open something up, and so need confirmation (`config set … --yes`). */
import assert from 'node:assert/strict'

import {checkSetting} from '../../../src/config/index.js'
import {openingOf, widePublicNetworks} from '../../../src/config/opening.js'

const opens = (key: string, value: string) => openingOf(key, checkSetting(key, value))

describe('config: settings that open something up', () => {
  it('auth.methods none, guard.patterns none, guard.redact false and a long clock skew open something; their safe values do not', () => {
    assert.match(opens('auth.methods', 'none')!, /authentication off/)
    assert.equal(opens('auth.methods', 'api-key,oauth2'), undefined)
    assert.match(opens('guard.patterns', 'none')!, /input guard/)
    assert.match(opens('guard.patterns', 'traversal,none')!, /input guard/, 'none anywhere turns them all off')
    assert.equal(opens('guard.patterns', 'traversal,/forbidden/'), undefined)
    assert.match(opens('guard.redact', 'false')!, /redaction off/)
    assert.equal(opens('guard.redact', 'true'), undefined)
    assert.match(opens('oauth.clock-skew', '2h')!, /2h after they expire/)
    assert.equal(opens('oauth.clock-skew', '5m'), undefined)
    for (const [key, value] of [['ratelimit.api-key', '100000/s'], ['audit.fail-closed', 'false'], ['guard.max-body', '1GiB'], ['proxy.scopes', 'full']]) {
      assert.equal(opens(key, value), undefined, `${key} ${value}`)
    }
  })

  it('proxy.trusted-cidrs: every address, or a public network wider than /24 (IPv4) or /64 (IPv6), opens; private networks and single proxies do not', () => {
    const wide = ['0.0.0.0/0', '::/0', '1.0.0.0/8', '104.16.0.0/13', '8.8.0.0/16', '203.0.113.0/23', '2000::/3', '2001:db8::/32', '::ffff:0.0.0.0/96', '::ffff:0:0/96', '::/1', '0.0.0.0/1']
    for (const cidr of wide) {
      assert.deepEqual(widePublicNetworks(cidr), [cidr], cidr)
      assert.match(opens('proxy.trusted-cidrs', `10.0.0.5/32,${cidr}`)!, new RegExp(`from ${cidr.replace(/\./g, '\\.')}: any host there`))
    }
    const narrow = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '127.0.0.1/32', '169.254.0.0/16', 'fd00::/8', 'fc00::/7', 'fe80::/10', '::1/128', '203.0.113.7/32', '203.0.113.0/24', '2001:db8:1:2::/64', '2001:db8::10', '::ffff:10.0.0.0/104', '::ffff:203.0.113.0/120']
    for (const cidr of narrow) {
      assert.deepEqual(widePublicNetworks(cidr), [], cidr)
      assert.equal(opens('proxy.trusted-cidrs', cidr), undefined, cidr)
    }
  })
})
