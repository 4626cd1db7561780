/** Scope globs on re2js: the same answers as picomatch's regexes on V8, in time linear in the name. */
import assert from 'node:assert/strict'

import picomatch from 'picomatch'

import {compileGlob, GLOB_OPTIONS, markText} from '../../../src/policy/glob-match.js'
import {expandScopes, ScopeSet} from '../../../src/policy/index.js'

/** A fixed-seed generator (mulberry32): the same globs and names on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const GLOB_PIECES = ['*', '*', '**', '?', '.', '.', '/', '/', ':', '_', 'a', 'b', '..', './', '\\', '!', '+', '@', '$', '^', '|', '"', '%', '-']
const NAME_PIECES = ['a', 'b', '_', '.', '.', '..', '/', '/', '//', ':', '!', '+', '|', '\\', '"', '%', '-', '\n', '😀', 'é']

const matchesLinear = (glob: string, name: string) => {
  const c = compileGlob(glob)
  return c.linear().test(markText(name, c.copies, c.tests))
}

describe('policy: linear-time glob matching', () => {
  it('answers as picomatch does, for random globs of the accepted syntax against random names', () => {
    const next = random(20251201)
    const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]
    const build = (pieces: readonly string[], max: number) => Array.from({length: Math.floor(next() * (max + 1))}, () => pick(pieces)).join('')
    let compared = 0
    let matched = 0
    for (let g = 0; g < 1500; g++) {
      const glob = build(GLOB_PIECES, 7) || '*'
      const expected = picomatch.makeRe(glob, GLOB_OPTIONS)
      const compiled = compileGlob(glob)
      const linear = compiled.linear()
      // Names near the glob (its wildcards filled in) match often; random ones mostly do not.
      const near = () => glob.replace(/\*\*|\*|\?/g, () => build(NAME_PIECES, 3)).replace(/\\/g, () => pick(['', '\\']))
      const names = ['', '.', '..', '/', './', '../', 'a/', '/a', 'a//b', 'a/./b', 'a/../b', glob]
      for (let n = 0; n < 40; n++) names.push(n % 2 ? near() : build(NAME_PIECES, 6))
      for (const name of names) {
        const want = expected.test(name)
        assert.equal(linear.test(markText(name, compiled.copies, compiled.tests)), want, `glob ${JSON.stringify(glob)} (${expected.source}) on ${JSON.stringify(name)}`)
        compared++
        if (want) matched++
      }
    }
    // The comparison means something only if both answers occur often.
    assert.ok(matched > compared / 10, `${matched} of ${compared} matched`)
  })

  it('answers as picomatch does for the glob shapes keys use', () => {
    const cases: [string, string[]][] = [
      ['*', ['', 'a', 'a/', '/', '.', '..', '.a', 'a/b']],
      ['**', ['', 'a/b/c', 'a/../b', '/.', 'a/.b', 'a//b']],
      ['resource:file:///srv/**'.slice(9), ['file:///srv', 'file:///srv/', 'file:///srv/a/b', 'file:///srv/./a', 'file:///srvx']],
      ['mem://**', ['mem:/', 'mem://', 'mem://a', 'mem://a/..']],
      ['**/x', ['x', '/x', 'a/b/x', '../x', 'a/./x']],
      ['.*', ['.', '..', '.a', '.a/']],
      ['a/.*/b', ['a/./b', 'a/../b', 'a/.c/b']],
      ['./a', ['a', './a']],
      ['x\\', ['', 'x', 'x\\']],
      ['a|b/c', ['a', 'b/c', 'a|b/c']],
      ['\\w*', ['a', 'ab', '_', '-x']],
      ['\\W', ['-', 'a', '😀']],
      ['a\\b', ['a', 'ab']],
      ['?', ['😀', 'a', '/']],
      ['😀', ['😀', 'a']],
    ]
    for (const [glob, names] of cases) {
      const expected = picomatch.makeRe(glob, GLOB_OPTIONS)
      for (const name of names) assert.equal(matchesLinear(glob, name), expected.test(name), `glob ${JSON.stringify(glob)} on ${JSON.stringify(name)}`)
    }
  })

  it('a backslash read as a backreference is refused when written, never matched by a backtracking engine', () => {
    for (const pattern of ['resource:file:///a\\1', 'resource:file:///a\\01', 'resource:x\\c-']) {
      assert.throws(() => new ScopeSet([pattern]), /cannot be matched in linear time/, pattern)
      assert.throws(() => expandScopes([pattern]), /cannot be matched in linear time/, pattern)
    }
  })

  it('a pattern whose linear form would need too many markers per character is refused when written', () => {
    assert.doesNotThrow(() => expandScopes(['resource:file:///**/*/**/*/']))
    assert.throws(() => expandScopes(['resource:file:///**/*/**/*/**/*/**/*/**/*/']), /too many wildcard segments in a row/)
    assert.throws(() => new ScopeSet(['resource:**/*/**/*/**/*/']), /too many wildcard segments in a row/)
  })

  it('takes time linear in the name: 1 MiB against the globs that backtrack on V8', () => {
    const long = (fill: string, size: number) => fill.repeat(Math.ceil(size / fill.length)).slice(0, size)
    const cases: [ScopeSet, 'tool' | 'resource', (size: number) => string][] = [
      [new ScopeSet(['*_*x']), 'tool', (n) => long('_', n)],
      [new ScopeSet(['*', '!*_admin_*x']), 'tool', (n) => long('_admin_', n)],
      [new ScopeSet(['*_*_*_*x']), 'tool', (n) => long('_', n)],
      [new ScopeSet(['resource:file:///*_*_*_*x']), 'resource', (n) => `file:///${long('_', n)}`],
      [new ScopeSet(['resource:**', '!resource:file:///**/*_*_*x']), 'resource', (n) => `file:///${long('a_/', n)}`],
    ]
    // The best of three runs, so that a busy machine's pauses count less.
    const time = (scopes: ScopeSet, kind: 'tool' | 'resource', name: string) => {
      let best = Infinity
      for (let run = 0; run < 3; run++) {
        const started = performance.now()
        scopes.allows(kind, name)
        best = Math.min(best, performance.now() - started)
      }
      return best
    }
    for (const [scopes, kind, name] of cases) {
      const small = time(scopes, kind, name(1 << 16))
      const large = time(scopes, kind, name(1 << 20))
      // 16 times the name: about 16 times the time when linear, 256 times when quadratic. Measured
      // as a ratio (with a floor for timer noise), not against a clock: a shared machine runs slow at
      // times. The absolute bound only catches the backtracking regexes, which took minutes here.
      assert.ok(large < 64 * Math.max(small, 0.5), `${scopes.sources.join(',')}: 64 KiB took ${small.toFixed(1)} ms, 1 MiB ${large.toFixed(1)} ms`)
      assert.ok(large < 5000, `${scopes.sources.join(',')} on 1 MiB took ${Math.round(large)} ms`)
    }
    // Names up to quickUpTo are matched by V8 (faster on the short names of most requests): its backtracking must stay bounded there.
    for (const glob of ['*_*x', '*_*_*x', '*_*_*_*x', '*_*_*_*_*_*_*x', `resource:*_*${'y'.repeat(500)}`]) {
      const resource = glob.startsWith('resource:')
      const name = '_'.repeat(compileGlob(glob.replace('resource:', '')).quickUpTo)
      const started = performance.now()
      new ScopeSet([glob]).allows(resource ? 'resource' : 'tool', name)
      const took = performance.now() - started
      assert.ok(took < 500, `${glob} on ${name.length} characters (by V8) took ${Math.round(took)} ms`)
    }
  })
})
