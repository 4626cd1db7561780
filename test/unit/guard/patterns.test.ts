import assert from 'node:assert/strict'

import {checkSetting} from '../../../src/config/index.js'
import {findPattern, guardPatterns, splitPatternList} from '../../../src/guard/patterns.js'

describe('guard patterns', () => {
  it('the built-in patterns keep their behaviour', () => {
    const patterns = guardPatterns(['traversal', 'script', 'sql-union', 'eval'])
    const hit = (v: string) => findPattern({v}, patterns)?.name
    assert.equal(hit('../etc/passwd'), 'traversal')
    assert.equal(hit('..\\windows'), 'traversal')
    assert.equal(hit('< SCRIPT>'), 'script')
    assert.equal(hit('1 UNION all SELECT x'), 'sql-union')
    assert.equal(hit('select 1 union 2'), undefined)
    assert.equal(hit('EVAL ('), 'eval')
    assert.equal(hit('a perfectly fine value'), undefined)
  })

  it('a custom /regex/ is case-insensitive, and runs in linear time', () => {
    const [p] = guardPatterns(['/(a+)+$/'])
    assert.equal(p.test('xAAa'), true)
    const started = performance.now()
    assert.equal(guardPatterns(['/^(a+)+$/'])[0].test(`${'a'.repeat(50_000)}!`), false)
    assert.ok(performance.now() - started < 500)
    assert.equal(guardPatterns([String.raw`/drop\s+table/`])[0].test('DROP\u00a0TABLE'), true, 'JavaScript’s \\s, not RE2’s')
  })

  it('refuses, when set, a pattern with no linear-time match, and one that is not valid', () => {
    assert.equal(checkSetting('guard.patterns', 'traversal,/(a+)+$/'), 'traversal,/(a+)+$/')
    assert.throws(() => checkSetting('guard.patterns', String.raw`/(a)\1/`), /cannot be matched in linear time/)
    assert.throws(() => checkSetting('guard.patterns', '/a(?=b)/'), /cannot be matched in linear time/)
    assert.throws(() => checkSetting('guard.patterns', '/(/'), /not a valid regular expression/)
    assert.throws(() => checkSetting('guard.patterns', 'nope'), /name one of/)
  })

  it('says why a pattern cannot be used, and what to do: too large to compile, or a construct the engine lacks, is not a linear-time matter', () => {
    const refusal = (item: string) => {
      try {
        checkSetting('guard.patterns', item)
      } catch (err) {
        return (err as Error).message
      }
      assert.fail(`${item.slice(0, 40)} was accepted`)
    }
    const costly = refusal(`/(?:${'x'.repeat(1000)}){1000}/`)
    assert.match(costly, /too large to compile in bounded time.*shorten it, or split it/)
    assert.doesNotMatch(costly, /linear time/)
    // Repetitions nested past RE2's 1,000 copies: refused by RE2 itself, and too large all the same (review).
    assert.match(refusal('/(a{30}){40}/'), /too large to compile in bounded time.*\(invalid repeat count/)
    assert.match(refusal('/a{2000}/'), /too large to compile in bounded time/)
    const unsupported = refusal(String.raw`/a\01/`)
    assert.match(unsupported, /does not support.*octal escapes are not supported/)
    assert.doesNotMatch(unsupported, /linear time/)
  })

  it('a stored pattern that cannot be checked refuses every string rather than none', () => {
    const [p] = guardPatterns([String.raw`/(a)\1/`])
    assert.equal(p.test('anything'), true)
    assert.match(p.name, /set guard.patterns again/)
  })

  it('a comma inside a /regex/ belongs to it: /a{1,3}/ is one item, and a list of names and expressions splits where it should', () => {
    assert.deepEqual(splitPatternList('traversal, /a{1,3}b/ ,script'), ['traversal', '/a{1,3}b/', 'script'])
    assert.deepEqual(splitPatternList(String.raw`/x\/,y/,eval`), [String.raw`/x\/,y/`, 'eval'])
    assert.deepEqual(splitPatternList('/a,b/'), ['/a,b/'])
    assert.deepEqual(splitPatternList('none'), ['none'])
    assert.deepEqual(splitPatternList(' , ,'), [])
    assert.equal(checkSetting('guard.patterns', 'traversal,/ab{1,3}c/'), 'traversal,/ab{1,3}c/')
    const [, custom] = guardPatterns(splitPatternList('traversal,/ab{1,3}c/'))
    assert.equal(custom.test('xabbbc'), true)
    assert.equal(custom.test('xabbbbc'), false)
  })
})
