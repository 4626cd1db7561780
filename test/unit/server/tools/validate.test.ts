/** Tool arguments against an upstream's JSON Schema: what the schema asks is checked, in time linear in the arguments. */
import assert from 'node:assert/strict'

import {validateArguments} from '../../../../src/server/tools/validate.js'

describe('server/tools/validate', () => {
  it('checks uniqueItems in linear time: an upstream schema cannot make a client’s 1 MiB array occupy the server', async () => {
    const schema = {type: 'object', properties: {tags: {type: 'array', uniqueItems: true}}}
    // About 1 MiB (guard.max-body) of distinct arrays: ajv compares every pair of non-scalar items.
    const tags = Array.from({length: 120_000}, (_, i) => [i])
    const started = process.hrtime.bigint()
    assert.equal((await validateArguments(schema, {tags})).ok, true)
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    assert.ok(ms < 1000, `${ms} ms`)
  })

  it('still refuses items that are equal as JSON, whatever their key order', async () => {
    const schema = {type: 'object', properties: {rows: {type: 'array', uniqueItems: true}}}
    assert.equal((await validateArguments(schema, {rows: [{a: 1, b: [2]}, {b: [2], a: 1}]})).ok, false)
    assert.equal((await validateArguments(schema, {rows: [{a: 1}, {a: 2}, 'x', 1, '1']})).ok, true)
    assert.equal((await validateArguments(schema, {rows: [1, 1.0]})).ok, false)
    assert.equal((await validateArguments({type: 'object', properties: {rows: {type: 'array', uniqueItems: false}}}, {rows: [1, 1]})).ok, true)
    const verdict = await validateArguments(schema, {rows: [[1], [1]]})
    assert.equal(verdict.problem, 'rows must not hold the same item twice')
  })
})
