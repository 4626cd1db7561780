/**
 * The decrypted payload (src/vault/payload.ts): secrets as exact bytes, named tables of records
 * owned elsewhere, both payload versions, and the shapes refused even though the payload
 * authenticated (the "payload" failure class: see vault.test.ts for how it is reported).
 */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'

import {decodeData, emptyData, encodeData, tableOf} from '../../../src/vault/payload.js'

const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8')

describe('vault payload', () => {
  it('round-trips secrets byte for byte (binary, a BOM, empty-looking text) with their metadata', () => {
    const data = emptyData()
    const binary = randomBytes(64)
    data.secrets.set('BINARY', {value: binary, created: 'c1', updated: 'u1'})
    data.secrets.set('BOM', {value: Buffer.from('\ufeffvalue\r\n'), description: 'with a BOM', created: 'c2', updated: 'u2'})
    const back = decodeData(encodeData(data), 2)!
    assert.deepEqual(back.secrets.get('BINARY')!.value, binary)
    assert.deepEqual(back.secrets.get('BOM')!.value, Buffer.from('\ufeffvalue\r\n'))
    assert.equal(back.secrets.get('BOM')!.description, 'with a BOM')
    assert.deepEqual([back.secrets.get('BOM')!.created, back.secrets.get('BOM')!.updated], ['c2', 'u2'])
  })

  it('writes an untouched secret back exactly as it was read', () => {
    const encoded = json({secrets: {A: {value_b64: Buffer.from('abc').toString('base64'), created: 'c', updated: 'u'}}})
    assert.deepEqual(encodeData(decodeData(encoded, 2)!), encoded)
  })

  it('keeps tables as the records their owners put there, drops empty ones, and makes a table on first use', () => {
    const data = emptyData()
    tableOf<{scopes: string[]}>(data, 'keys').set('k1', {scopes: ['echo']})
    tableOf(data, 'settings')
    assert.equal(tableOf(data, 'keys'), data.tables.get('keys'), 'the same map on every call')
    const back = decodeData(encodeData(data), 2)!
    assert.deepEqual(back.tables.get('keys')!.get('k1'), {scopes: ['echo']})
    assert.ok(!back.tables.has('settings'), 'an empty table is not written')
  })

  it('names such as constructor and hasOwnProperty are only data, and a __proto__ key read from a payload pollutes nothing', () => {
    const data = emptyData()
    for (const name of ['constructor', 'hasOwnProperty', 'toString']) data.secrets.set(name, {value: Buffer.from(name), created: 'c', updated: 'u'})
    const back = decodeData(encodeData(data), 2)!
    assert.deepEqual([...back.secrets.keys()].sort(), ['constructor', 'hasOwnProperty', 'toString'])
    assert.equal(back.secrets.get('constructor')!.value.toString(), 'constructor')
    const hostile = decodeData(Buffer.from('{"secrets":{"__proto__":{"value_b64":"eA==","created":"c","updated":"u","polluted":true}}}'), 2)!
    assert.equal(hostile.secrets.get('__proto__')!.value.toString(), 'x')
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
  })

  it('reads version 1 payloads, whose values were UTF-8 text', () => {
    const back = decodeData(json({secrets: {OLD: {value: 'caf\u00e9', created: 'c', updated: 'u'}}}), 1)!
    assert.deepEqual(back.secrets.get('OLD')!.value, Buffer.from('caf\u00e9', 'utf8'))
  })

  it('refuses what is not a payload of its version, even though it authenticated', () => {
    const refused: [string, Buffer, number][] = [
      ['not JSON', Buffer.from('{"secrets":'), 2],
      ['an array', json([]), 2],
      ['no secrets', json({keys: {}}), 2],
      ['secrets not an object', json({secrets: []}), 2],
      ['a secret that is not an object', json({secrets: {A: 'x'}}), 2],
      ['a version 2 secret without value_b64', json({secrets: {A: {value: 'x'}}}), 2],
      ['a version 1 secret without value', json({secrets: {A: {value_b64: 'eA=='}}}), 1],
      ['a table with an unfit name', json({secrets: {}, Keys: {}}), 2],
      ['a table named __proto__', Buffer.from('{"secrets":{},"__proto__":{}}'), 2],
      ['a table that is not an object', json({secrets: {}, keys: [1]}), 2],
    ]
    for (const [what, plaintext, version] of refused) assert.equal(decodeData(plaintext, version), undefined, what)
  })
})
