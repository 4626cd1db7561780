/** The cluster key and its MACs (src/redis/signing.ts): what makes anything in Redis believable. */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'

import {auditKeyOf, ensureAuditKey} from '../../../src/audit/key.js'
import {clusterKeyOf, sign, verify} from '../../../src/redis/signing.js'
import {emptyData} from '../../../src/vault/payload.js'

const VAULT = '8f6e0883-0000-4000-8000-000000000001'

describe('redis signing', () => {
  it('the cluster key comes from the vault: none before it has an audit key, then one per vault, apart from the audit key', () => {
    const data = emptyData()
    assert.equal(clusterKeyOf(data, VAULT), undefined)
    ensureAuditKey(data)
    const key = clusterKeyOf(data, VAULT)!
    assert.equal(key.length, 32)
    assert.deepEqual(clusterKeyOf(data, VAULT), key, 'the same on every host that holds the vault')
    assert.notDeepEqual(key, auditKeyOf(data), 'not the audit key itself')
    assert.notDeepEqual(clusterKeyOf(data, VAULT.replace(/1$/, '2')), key, 'bound to the vault id')
  })

  it('a MAC verifies only with its key, for its purpose, over exactly its fields', () => {
    const key = randomBytes(32)
    const mac = sign(key, 'notice', ['v', 7, 'a,b'])
    assert.equal(verify(key, 'notice', ['v', 7, 'a,b'], mac), true)
    assert.equal(verify(randomBytes(32), 'notice', ['v', 7, 'a,b'], mac), false, 'another key')
    assert.equal(verify(key, 'copy', ['v', 7, 'a,b'], mac), false, 'another purpose')
    assert.equal(verify(key, 'notice', ['v', 8, 'a,b'], mac), false, 'another generation')
    assert.equal(verify(key, 'notice', ['v', '7', 'a,b'], mac), false, 'a number is not its string')
    assert.equal(verify(key, 'notice', ['v', 7, 'a', 'b'], mac), false, 'fields do not run into each other')
    assert.equal(verify(undefined, 'notice', ['v', 7, 'a,b'], mac), false, 'no key, nothing authentic')
    for (const bad of [undefined, 7, '', mac.slice(1), `${mac}A`, 'A'.repeat(43), 'x'.repeat(10_000)]) assert.equal(verify(key, 'notice', ['v', 7, 'a,b'], bad), false, String(bad).slice(0, 20))
  })
})
