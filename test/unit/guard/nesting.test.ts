/** How deep JSON nests (src/guard/nesting.ts): over parsed values, and over the bytes before any parse, which must agree. */
import assert from 'node:assert/strict'

import {jsonNestsDeeper, nestedDeeper} from '../../../src/guard/nesting.js'

const bytes = (text: string) => Buffer.from(text)

/** Random JSON, strings full of what looks like structure: brackets, quotes, backslashes. */
function randomJson(depth: number, seed: {n: number}): unknown {
  const next = () => (seed.n = (seed.n * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  const pick = next()
  if (depth === 0 || pick < 0.3) return ['[', ']', '{', '}', '"', '\\', '\\"[', 'é{', 'plain', '\\\\'][Math.floor(next() * 10)]
  if (pick < 0.65) return Array.from({length: Math.floor(next() * 3)}, () => randomJson(depth - 1, seed))
  return Object.fromEntries(Array.from({length: Math.floor(next() * 3)}, (_, i) => [`k[${i}"{\\`, randomJson(depth - 1, seed)]))
}

describe('guard/nesting', () => {
  it('counts brackets outside strings only: brackets, quotes and backslashes inside strings do not count', () => {
    assert.equal(jsonNestsDeeper(bytes('{"a":"[[[[[[","b":"\\\\","c":"\\"[[[["}'), 0), false)
    assert.equal(jsonNestsDeeper(bytes('[[[1]]]'), 2), false, 'the outermost is level 0')
    assert.equal(jsonNestsDeeper(bytes('[[[[1]]]]'), 2), true)
    assert.equal(jsonNestsDeeper(bytes(`${'['.repeat(200_000)}${']'.repeat(200_000)}`), 128), true, 'however deep')
  })

  it('agrees with the depth of the parsed value, on 2,000 random documents', () => {
    const seed = {n: 7}
    for (let i = 0; i < 2000; i++) {
      const value = randomJson(8, seed)
      const text = JSON.stringify(value)
      for (const max of [0, 1, 2, 3, 5]) assert.equal(jsonNestsDeeper(bytes(text), max), nestedDeeper(value, max), `${text} at ${max}`)
    }
  })
})
