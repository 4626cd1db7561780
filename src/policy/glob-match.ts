/**
 * Scope globs matched in time linear in the name or URI. picomatch reads the glob (so `*`, `**`,
 * `?`, escapes and its dot-segment rules mean what they always meant), and its regex is run by
 * re2js instead of V8's backtracking engine, on which `*_*_*x` against a long run of `_` takes
 * minutes.
 *
 * RE2 has no lookahead, and picomatch's regexes use a few (a wildcard never makes a `.` or `..`
 * segment; `*` at a segment start matches something), besides `^`, `$` and `\b` inside the regex.
 * Each of these tests looks at most three characters ahead, so keyward decides them itself at
 * every position of the input, and writes the answers into the text re2js reads: before each
 * input character, and at the end, `copies` marker code points whose bits say which tests hold
 * there. A zero-width test in the regex becomes "consume one marker that has this bit", and each
 * character of the regex first skips the markers left at its position. A marker is a code point
 * of plane 15, while every input character is read as one UTF-16 unit (a surrogate pair is split
 * by markers, as V8 without the `u` flag reads it as two units), so neither can stand for the
 * other. `copies` is the most zero-width tests one path through the regex passes at one position
 * (counted on the regex; picomatch's loops always consume a character), so a long glob does not
 * make every position carry a marker per test.
 */
import picomatch from 'picomatch'

import {re2RegExp, toRe2Syntax, type LinearRegExp} from '../regex/linear-regex.js'

/** What scope globs mean: no braces, extglobs, negation or quantifiers; `.` files are matched like any other. */
export const GLOB_OPTIONS = {dot: true, nobrace: true, noextglob: true, nonegate: true, noquantifiers: true, windows: false}

type Holds = (text: string, at: number) => boolean

const isWord = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c)
const isLineEnd = (c: string | undefined) => c === '\n' || c === '\r' || c === '\u2028' || c === '\u2029'
/** `\.{1,2}(?:\/|$)` at `at`: a `.` or `..` segment starts there. */
function dotSegment(text: string, at: number): boolean {
  if (text[at] !== '.') return false
  const next = text[at + 1]
  if (next === undefined || next === '/') return true
  return next === '.' && (at + 2 === text.length || text[at + 2] === '/')
}

/**
 * Every zero-width test picomatch writes for scope globs, spelled as in its output, with its
 * meaning at a position; the most used first, as they take the highest bits (see bitOf).
 */
const TESTS: readonly {source: string; holds: Holds}[] = [
  {source: String.raw`(?!\.{1,2}(?:\/|$))`, holds: (t, at) => !dotSegment(t, at)},
  {source: '(?=.)', holds: (t, at) => at < t.length && !isLineEnd(t[at])},
  {source: String.raw`(?!(?:^|\/)\.{1,2}(?:\/|$))`, holds: (t, at) => !((at === 0 && dotSegment(t, 0)) || (t[at] === '/' && dotSegment(t, at + 1)))},
  {source: '^', holds: (_t, at) => at === 0},
  {source: '$', holds: (t, at) => at === t.length},
  {source: String.raw`(?!\.{0,1}(?:\/|$))`, holds: (t, at) => !(at === t.length || t[at] === '/' || (t[at] === '.' && (at + 1 === t.length || t[at + 1] === '/')))},
  {source: String.raw`\b`, holds: (t, at) => isWord(t[at - 1]) !== isWord(t[at])},
  {source: String.raw`\B`, holds: (t, at) => isWord(t[at - 1]) === isWord(t[at])},
]

const MARK = 0xf0000
const MARKS = String.raw`\x{f0000}-\x{f00ff}`
const SKIP = `[${MARKS}]*`
const hex = (code: number) => `\\x{${code.toString(16)}}`

/** The bit of test `index` in a marker: the first test the highest, so its class below is one range. */
const bitOf = (index: number) => 1 << (TESTS.length - 1 - index)

/** The markers in which test `index` holds, as an RE2 class of ranges (runs of 2^bit markers). */
function markersWith(index: number): string {
  const bit = bitOf(index)
  let out = ''
  for (let from = bit; from < 1 << TESTS.length; from += 2 * bit) out += `${hex(MARK + from)}-${hex(MARK + from + bit - 1)}`
  return `[${out}]`
}

/** A negated class (`[^…]`) also refuses the markers; a positive one never names them. */
const withoutMarkers = (cls: string) => (cls.startsWith('[^') ? `[^${MARKS}${cls.slice(2)}` : cls)

/** One escape of picomatch's output (`\x`, `\uXXXX`, `\d`, …) as an RE2 atom for one character. */
function escapeAtom(escape: string): string {
  const letter = escape[1]
  if (/[1-9]/.test(letter)) throw new Error(`${escape} reads as a backreference`)
  const negated: Record<string, string> = {D: String.raw`\d`, W: String.raw`\w`, S: String.raw`\s`}
  if (negated[letter] !== undefined) {
    const positive = toRe2Syntax(negated[letter], false)
    return `[^${MARKS}${positive.startsWith('[') ? positive.slice(1, -1) : positive}]`
  }
  const syntax = toRe2Syntax(escape, false)
  // An escaped non-ASCII unit (picomatch escapes each half of a surrogate pair) is spelled by number, never as a raw half.
  return syntax.length === 1 && syntax.charCodeAt(0) > 0x7f ? hex(syntax.charCodeAt(0)) : withoutMarkers(syntax)
}

/** The end of the class that opens at `from`. */
function classEnd(source: string, from: number): number {
  let at = from + 1
  if (source[at] === '^') at++
  if (source[at] === ']') throw new Error('an empty class')
  while (source[at] !== ']') {
    if (at >= source.length) throw new Error('an unclosed class')
    at += source[at] === '\\' ? 2 : 1
  }
  return at + 1
}

/**
 * How many zero-width tests a path through part of a regex passes at one position: before its
 * first character (`first`), after its last (`last`), between two of its characters (`inner`),
 * or through it without a character (`empty`); -Infinity where there is no such path.
 */
interface Count {
  empty: number
  first: number
  last: number
  inner: number
}

const NONE = -Infinity
const ATOM: Count = {empty: NONE, first: 0, last: 0, inner: NONE}
const TEST: Count = {empty: 1, first: NONE, last: NONE, inner: NONE}
const EMPTY: Count = {empty: 0, first: NONE, last: NONE, inner: NONE}
const NO_PATH: Count = {empty: NONE, first: NONE, last: NONE, inner: NONE}

const then = (a: Count, b: Count): Count => ({
  empty: a.empty + b.empty,
  first: Math.max(a.first, a.empty + b.first),
  last: Math.max(b.last, a.last + b.empty),
  inner: Math.max(a.inner, b.inner, a.last + b.first),
})
const either = (a: Count, b: Count): Count => ({
  empty: Math.max(a.empty, b.empty),
  first: Math.max(a.first, b.first),
  last: Math.max(a.last, b.last),
  inner: Math.max(a.inner, b.inner),
})

/** `a` under a quantifier (`*`, `+`, `?`; laziness does not change what matches). */
function repeated(a: Count, quantifier: string): Count {
  const many = quantifier !== '?'
  // An iteration that matches nothing but passes tests could pass them again and again.
  if (many && a.empty > 0) throw new Error('a repeated zero-width test')
  return {
    empty: quantifier === '+' ? a.empty : Math.max(0, a.empty),
    first: a.first,
    last: a.last,
    inner: many ? Math.max(a.inner, a.last + a.first) : a.inner,
  }
}

/** A group being read: its finished alternatives, and the parts of the current one. */
interface Frame {
  alternatives: Count
  parts: Count[]
}

const sequence = (parts: Count[]) => parts.reduce(then, EMPTY)

interface Translation {
  syntax: string
  /** The most zero-width tests any path passes at one position. */
  tests: number
  /** Which of TESTS the regex uses, as bits. */
  used: number
}

const ESCAPE = /\\(?:u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|c[A-Za-z]|0[0-9]|[^])/y

/** picomatch's regex source over the marked text: characters skip markers first, tests consume one. */
function translate(source: string): Translation {
  let out = ''
  let used = 0
  let at = 0
  const stack: Frame[] = [{alternatives: NO_PATH, parts: []}]
  const top = () => stack[stack.length - 1]
  const atom = (syntax: string, length: number) => {
    out += `(?:${SKIP}${syntax})`
    at += length
    top().parts.push(ATOM)
  }
  while (at < source.length) {
    const test = TESTS.findIndex((t) => source.startsWith(t.source, at))
    if (test !== -1) {
      out += markersWith(test)
      used |= bitOf(test)
      at += TESTS[test].source.length
      top().parts.push(TEST)
      continue
    }
    const c = source[at]
    if (c === '\\') {
      ESCAPE.lastIndex = at
      const escape = ESCAPE.exec(source)![0]
      atom(escapeAtom(escape), escape.length)
    } else if (c === '[') {
      const end = classEnd(source, at)
      atom(withoutMarkers(toRe2Syntax(source.slice(at, end), false)), end - at)
    } else if (c === '.') atom(`[^\\n\\r\\x{2028}\\x{2029}${MARKS}]`, 1)
    else if (c === '(') {
      if (source[at + 1] === '?' && source[at + 2] !== ':') throw new Error(`unexpected group ${source.slice(at, at + 3)}`)
      out += '(?:'
      at += source[at + 1] === '?' ? 3 : 1
      stack.push({alternatives: NO_PATH, parts: []})
    } else if (c === '|' || c === ')') {
      const frame = top()
      frame.alternatives = either(frame.alternatives, sequence(frame.parts))
      frame.parts = []
      out += c
      at++
      if (c === ')') {
        if (stack.length === 1) throw new Error('an unopened group')
        stack.pop()
        top().parts.push(frame.alternatives)
      }
    } else if (c === '*' || c === '+' || c === '?') {
      const {parts} = top()
      if (parts.length === 0) throw new Error(`a quantifier ${c} on nothing`)
      parts.push(repeated(parts.pop()!, c))
      const lazy = source[at + 1] === '?' ? '?' : ''
      out += c + lazy
      at += 1 + lazy.length
    } else if (c === '{' || c === '}' || c === ']') throw new Error(`unexpected ${c}`)
    else atom(hex(c.charCodeAt(0)), 1)
  }
  if (stack.length !== 1) throw new Error('an unclosed group')
  const whole = either(stack[0].alternatives, sequence(stack[0].parts))
  return {syntax: out, tests: Math.max(whole.empty, whole.first, whole.last, whole.inner, 0), used}
}

/** The index of the `)` that closes the group opening at `open`, or -1. */
function closing(source: string, open: number): number {
  let depth = 0
  for (let at = open; at < source.length; at++) {
    const c = source[at]
    if (c === '\\') at++
    else if (c === '[') at = classEnd(source, at) - 1
    else if (c === '(') depth++
    else if (c === ')' && --depth === 0) return at
  }
  return -1
}

/** picomatch wraps its regex in `^(?:…)$`, sometimes twice; the match is anchored anyway, so the wrappers need no marker. */
function unwrap(source: string): string {
  while (source.startsWith('^(?:') && source.endsWith(')$') && closing(source, 1) === source.length - 2) source = source.slice(4, -2)
  return source
}

/** A glob compiled for linear-time matching; `test` takes the text marked by `markText` with the glob's `copies` and `tests`. */
export interface LinearGlob {
  test(marked: string): boolean
}

/** A scope glob, both ways it is matched. */
export interface CompiledGlob {
  /**
   * picomatch's own regex, run by V8, and the longest input on which its backtracking stays
   * within about four million steps (quickSteps): on the short names most requests carry it
   * answers alike (the differential test) in nanoseconds, where marking the text and running
   * re2js take about a microsecond.
   */
  readonly quick: RegExp
  readonly quickUpTo: number
  /** The markers the linear form needs at each position of the text: its memory and time grow with them. */
  readonly copies: number
  /** Which tests the markers must answer, as bits. */
  readonly tests: number
  /** The linear-time form, its re2js regex compiled on first use: that takes about 0.15 ms, and most names are short. */
  linear(): LinearGlob
}

/**
 * The longest input on which V8's backtracking over picomatch's regex of `glob` stays within
 * about 2^22 steps: with k wildcards (`*`; `**` counts two) the regex may try every placement of
 * them, about n^k, each checking up to the glob's length.
 */
function quickSteps(glob: string): number {
  const stars = glob.split('*').length - 1
  return Math.floor((2 ** 22 / glob.length) ** (1 / Math.max(1, stars)))
}

/** Compiled globs by text: a scope set is built per key and per OAuth token, from patterns most of them share. */
const compiled = new Map<string, CompiledGlob>()
const MAX_COMPILED = 1024

/**
 * A scope glob compiled; throws when picomatch's reading of it has no linear-time match (a
 * backreference), so that no engine ever matches it. Its regex for re2js is compiled on first use.
 */
export function compileGlob(glob: string): CompiledGlob {
  let found = compiled.get(glob)
  if (found === undefined) {
    if (compiled.size >= MAX_COMPILED) compiled.clear()
    const quick = picomatch.makeRe(glob, GLOB_OPTIONS)
    const {syntax, tests, used} = translate(unwrap(quick.source))
    let linear: LinearGlob | undefined
    const linearOf = (): LinearGlob => {
      const re: LinearRegExp = re2RegExp(`^(?:${syntax})${SKIP}$`)
      return {test: (marked) => re.test(marked)}
    }
    found = {quick, quickUpTo: quickSteps(glob), copies: Math.max(1, tests), tests: used, linear: () => (linear ??= linearOf())}
    compiled.set(glob, found)
  }
  return found
}

/**
 * `text` as the compiled globs read it: before each unit and at the end, `copies` markers saying
 * which of the `tests` (bits) hold there; a test left out reads as failing, so only globs that do
 * not use it may read the text.
 */
export function markText(text: string, copies: number, tests: number): string {
  const checks = TESTS.map((t, i) => [bitOf(i), t.holds] as const).filter(([bit]) => tests & bit)
  const units = new Uint16Array(text.length + (text.length + 1) * copies * 2)
  let out = 0
  for (let at = 0; at <= text.length; at++) {
    let bits = 0
    for (const [bit, holds] of checks) if (holds(text, at)) bits |= bit
    const high = 0xd800 + ((MARK + bits - 0x10000) >> 10)
    const low = 0xdc00 + ((MARK + bits - 0x10000) & 0x3ff)
    for (let c = 0; c < copies; c++) {
      units[out++] = high
      units[out++] = low
    }
    if (at < text.length) units[out++] = text.charCodeAt(at)
  }
  // As UTF-16 units, lone surrogates kept (String.fromCharCode on chunks is five times slower).
  return Buffer.from(units.buffer, units.byteOffset, units.byteLength).toString('utf16le')
}
