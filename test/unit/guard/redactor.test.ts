/**
 * The redactor on its own: the 8-character boundary, object keys (structuredContent's included),
 * and one list of token shapes shared with looksLikeToken (issues 15 and 17).
 */
import assert from 'node:assert/strict'

import {MIN_SECRET_LENGTH, Redactor} from '../../../src/guard/redactor.js'
import {looksLikeToken, TOKEN_SHAPES} from '../../../src/guard/token-shapes.js'
import {formatKey} from '../../../src/keys/format.js'

describe('redactor', () => {
  it('redacts a secret of exactly 8 characters, and never one of 7', () => {
    assert.equal(MIN_SECRET_LENGTH, 8)
    const r = new Redactor([
      ['EIGHT', 'Ab3$eF7!'],
      ['SEVEN', 'Zy9#wX2'],
    ])
    assert.equal(r.size, 1, 'the 7-character secret is not even indexed')
    assert.equal(r.text('a Ab3$eF7! b Zy9#wX2 c'), 'a [REDACTED:EIGHT] b Zy9#wX2 c')
    assert.equal(r.text('Ab3$eF7!'), '[REDACTED:EIGHT]', 'the whole text')
    assert.equal(r.text('Ab3$eF7'), 'Ab3$eF7', 'seven of the eight are not the secret')
  })

  it('redacts object keys as well as values, structuredContent included, and keeps the order of keys', () => {
    const r = new Redactor([['TOKEN', 'tok-12345678']])
    const result = {content: [{type: 'text', text: 'ok'}], structuredContent: {first: 1, 'tok-12345678': 'tok-12345678', nested: {'key tok-12345678': [{'tok-12345678': true}]}, last: 2}}
    const found = new Set<string>()
    const out = r.value(result, found)
    assert.deepEqual(out.structuredContent, {first: 1, '[REDACTED:TOKEN]': '[REDACTED:TOKEN]', nested: {'key [REDACTED:TOKEN]': [{'[REDACTED:TOKEN]': true}]}, last: 2})
    assert.deepEqual(Object.keys(out.structuredContent), ['first', '[REDACTED:TOKEN]', 'nested', 'last'])
    assert.deepEqual([...found], ['TOKEN'])
    assert.ok(!JSON.stringify(out).includes('tok-12345678'))
    assert.equal(out.content, result.content, 'an untouched branch is the same object')
  })

  it('a key named __proto__ stays a key of the copy, and the copy keeps its prototype', () => {
    const r = new Redactor([['TOKEN', 'tok-12345678']])
    const hostile = JSON.parse('{"__proto__": {"polluted": "tok-12345678"}, "x": "tok-12345678"}') as Record<string, unknown>
    const out = r.value(hostile) as Record<string, unknown>
    assert.equal(Object.getPrototypeOf(out), Object.prototype)
    assert.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, {polluted: '[REDACTED:TOKEN]'})
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
  })

  it('the redactor and looksLikeToken read one list of token shapes: each redacted shape is a token, whole or inside text', () => {
    const samples: Record<string, string> = {
      'api-key': formatKey('acme', 'abcdefghijkl', 'x'.repeat(33)),
      'github-token': `ghp_${'a'.repeat(36)}`,
      'aws-access-key': 'AKIAABCDEFGHIJKLMNOP',
      'slack-token': 'xoxe-1234567890-abcdef',
      'private-key': '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n-----END OPENSSH PRIVATE KEY-----',
      'openai-key': `sk-${'b'.repeat(20)}`,
      jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
    }
    const r = new Redactor([])
    for (const shape of TOKEN_SHAPES) {
      const sample = samples[shape.name]
      assert.ok(sample, `a sample for ${shape.name}`)
      assert.ok(looksLikeToken(sample), `${shape.name} looks like a token`)
      const inText = r.text(`before ${sample} after`)
      assert.equal(inText, shape.redact ? `before [REDACTED:${shape.name}] after` : `before ${sample} after`, shape.name)
    }
    // Slack tokens of every kind, one expression (the two old lists disagreed on the letters).
    for (const kind of 'abeoprs') assert.ok(looksLikeToken(`xox${kind}-1234567890-abc`), kind)
    assert.ok(!looksLikeToken('https://mcp.example.com/mcp'))
  })
})
