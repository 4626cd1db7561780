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

  it("a schema whose patterns together cost too much to compile is uncheckable (calls refused), each pattern fine alone (review)", async () => {
    const slow = `(${'x'.repeat(98)}){100}`
    const properties = Object.fromEntries(Array.from({length: 60}, (_, i) => [`p${i}`, {type: 'string', pattern: `${slow}${i}`}]))
    const verdict = await validateArguments({type: 'object', properties}, {})
    assert.match(verdict.uncheckable ?? '', /together are too large to compile/)
    assert.equal((await validateArguments({type: 'object', properties: {p0: properties.p0}}, {p0: 'y'})).ok, false, 'one alone compiles, and is checked')
  })

  it('each schema is compiled on its own: two tools whose schemas share an $id are both checked (one shared ajv refused the second, which then took anything)', async () => {
    const schema = (type: string) => ({$id: 'https://example.com/args', type: 'object', properties: {n: {type}}, required: ['n']})
    assert.equal((await validateArguments(schema('number'), {n: 'x'})).ok, false)
    const second = await validateArguments(schema('string'), {n: 1})
    assert.equal(second.ok, false, JSON.stringify(second))
    assert.equal((await validateArguments(schema('string'), {n: 'x'})).ok, true)
  })
})
