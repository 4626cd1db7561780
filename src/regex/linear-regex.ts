/**
 * Regular expressions written in JavaScript syntax (JSON Schema `pattern`s, `guard.patterns`)
 * and run by re2js, whose matching takes time linear in the input whatever the pattern: a
 * client chooses the string, and an upstream or an operator the pattern, so a backtracking
 * engine would let one of them occupy the server (`^(a+)+$` against `aaa…!`).
 *
 * The pattern is first checked by JavaScript's own parser (so what is invalid there is invalid
 * here), then rewritten into RE2 syntax where the two read the same text differently:
 * - `\s` and `\S` are JavaScript's (Unicode spaces, `\v`, U+FEFF), not RE2's ASCII ones;
 * - `.` excludes `\r`, U+2028 and U+2029 as well as `\n`;
 * - `\uXXXX`, `\u{X}`, `\cX`, `\0`, `[^]`, `[]`, `[\b]`, `(?<name>…)`, `\p{Letter}`,
 *   `\p{Script=Greek}`, `\p{ASCII}` are spelled the RE2 way.
 * What remains different: matching is by code point, also without the `u` flag, and `i` folds
 * case as `/iu` does (K matches the Kelvin sign). Backreferences, lookahead and lookbehind, and
 * repetition counts over 1000 have no linear-time match: such a pattern is an
 * `UncheckablePattern`, and so is one that would cost too much to compile (`compileCost`).
 */
import {createRequire} from 'node:module'

import type {RE2JS} from 're2js'

/** re2js, loaded on first use: most commands read settings, few match a pattern (about 10 ms kept off their start). */
const load = createRequire(import.meta.url)
let engine: typeof RE2JS | undefined
const re2 = (): typeof RE2JS => (engine ??= (load('re2js') as typeof import('re2js')).RE2JS)

export interface LinearRegExp {
  /** True when the pattern matches somewhere in `input`, as RegExp.prototype.test. */
  test(input: string): boolean
}

/**
 * Why a valid pattern cannot be used: it has no linear-time match (a backreference, a
 * lookaround), it would cost too much to compile, or it uses what RE2 does not support.
 */
export type UncheckableKind = 'nonlinear' | 'costly' | 'unsupported'

/** A valid JavaScript pattern that cannot be matched safely; `kind` says what to do about it. */
export class UncheckablePattern extends Error {
  constructor(
    readonly reason: string,
    readonly kind: UncheckableKind,
  ) {
    super(reason)
    this.name = 'UncheckablePattern'
  }
}

export interface PatternFlags {
  ignoreCase?: boolean
  /** The `u` flag, as JSON Schema patterns have it: it changes what JavaScript's parser accepts. */
  unicode?: boolean
}

/** JavaScript's WhiteSpace and LineTerminator characters, as the inside of an RE2 class. */
const SPACE = String.raw`\t\n\x{b}\f\r \x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{feff}`
/** Every other code point. */
const NOT_SPACE = String.raw`\x{0}-\x{8}\x{e}-\x{1f}\x{21}-\x{9f}\x{a1}-\x{167f}\x{1681}-\x{1fff}\x{200b}-\x{2027}\x{202a}-\x{202e}\x{2030}-\x{205e}\x{2060}-\x{2fff}\x{3001}-\x{fefe}\x{ff00}-\x{10ffff}`
const ANY = String.raw`\x{0}-\x{10ffff}`
const DOT = String.raw`[^\n\r\x{2028}\x{2029}]`
/** RE2 allows at most 1000 repetitions. */
const MAX_REPEAT = 1000

const CATEGORIES: Record<string, string> = {
  Letter: 'L', Cased_Letter: 'LC', Uppercase_Letter: 'Lu', Lowercase_Letter: 'Ll', Titlecase_Letter: 'Lt', Modifier_Letter: 'Lm', Other_Letter: 'Lo',
  Mark: 'M', Combining_Mark: 'M', Nonspacing_Mark: 'Mn', Spacing_Mark: 'Mc', Enclosing_Mark: 'Me',
  Number: 'N', Decimal_Number: 'Nd', digit: 'Nd', Letter_Number: 'Nl', Other_Number: 'No',
  Punctuation: 'P', punct: 'P', Connector_Punctuation: 'Pc', Dash_Punctuation: 'Pd', Open_Punctuation: 'Ps', Close_Punctuation: 'Pe', Initial_Punctuation: 'Pi', Final_Punctuation: 'Pf', Other_Punctuation: 'Po',
  Symbol: 'S', Math_Symbol: 'Sm', Currency_Symbol: 'Sc', Modifier_Symbol: 'Sk', Other_Symbol: 'So',
  Separator: 'Z', Space_Separator: 'Zs', Line_Separator: 'Zl', Paragraph_Separator: 'Zp',
  Other: 'C', Control: 'Cc', cntrl: 'Cc', Format: 'Cf', Surrogate: 'Cs', Private_Use: 'Co', Unassigned: 'Cn',
}
/** Binary properties RE2 has no name for, as the inside of a class. */
const BINARY: Record<string, string> = {ASCII: String.raw`\x{0}-\x{7f}`, ASCII_Hex_Digit: '0-9A-Fa-f', Any: ANY}

const hex = (code: number) => `\\x{${code.toString(16)}}`

/** `\p{…}` or `\P{…}` (`negated`) as RE2 spells it: inside a class when `inClass`. */
function property(body: string, negated: boolean, inClass: boolean): string {
  const [key, value] = body.includes('=') ? body.split('=', 2) : [undefined, body]
  if (key === 'Script_Extensions' || key === 'scx') throw new UncheckablePattern(`\\p{${body}}: script extensions are not supported; use \\p{Script=…}`, 'unsupported')
  if (key === undefined && BINARY[value] !== undefined) {
    if (!negated) return inClass ? BINARY[value] : `[${BINARY[value]}]`
    if (inClass) throw new UncheckablePattern(`\\P{${body}} inside a class is not supported`, 'unsupported')
    return `[^${BINARY[value]}]`
  }
  const name = key === 'General_Category' || key === 'gc' || key === undefined ? (CATEGORIES[value] ?? value) : value
  return `\\${negated ? 'P' : 'p'}{${name}}`
}

interface Cursor {
  src: string
  at: number
  unicode: boolean
}

/** `\uXXXX` (with a following low surrogate folded in) or `\u{X}`; `cur.at` is after the `u`. */
function unicodeEscape(cur: Cursor): string {
  const {src} = cur
  if (src[cur.at] === '{' && cur.unicode) {
    const end = src.indexOf('}', cur.at)
    const code = Number.parseInt(src.slice(cur.at + 1, end), 16)
    cur.at = end + 1
    return hex(code)
  }
  const four = /^[0-9A-Fa-f]{4}/.exec(src.slice(cur.at, cur.at + 4))
  // Without `u`, JavaScript reads \u not followed by four hex digits as a plain u.
  if (!four) return 'u'
  let code = Number.parseInt(four[0], 16)
  cur.at += 4
  const low = /^\\u([Dd][C-Fc-f][0-9A-Fa-f]{2})/.exec(src.slice(cur.at, cur.at + 6))
  if (code >= 0xd800 && code <= 0xdbff && low) {
    code = 0x10000 + ((code - 0xd800) << 10) + (Number.parseInt(low[1], 16) - 0xdc00)
    cur.at += 6
  }
  return hex(code)
}

/** One escape, `cur.at` at the character after the backslash; `inClass` inside `[…]`. */
function escape(cur: Cursor, inClass: boolean): string {
  const c = cur.src[cur.at++]
  if (/[1-9]/.test(c)) throw new UncheckablePattern(`\\${c}: backreferences have no linear-time match`, 'nonlinear')
  switch (c) {
    case '0':
      if (/[0-9]/.test(cur.src[cur.at] ?? '')) throw new UncheckablePattern('octal escapes are not supported; use \\xHH', 'unsupported')
      return hex(0)
    case 'k':
      if (cur.src[cur.at] === '<') throw new UncheckablePattern('\\k<name>: backreferences have no linear-time match', 'nonlinear')
      return 'k'
    case 'u':
      return unicodeEscape(cur)
    case 'c': {
      const letter = cur.src[cur.at]
      if (!/[A-Za-z]/.test(letter ?? '')) throw new UncheckablePattern('\\c without a letter is not supported', 'unsupported')
      cur.at++
      return hex(letter.charCodeAt(0) % 32)
    }
    case 's':
      return inClass ? SPACE : `[${SPACE}]`
    case 'S':
      return inClass ? NOT_SPACE : `[${NOT_SPACE}]`
    case 'b':
      return inClass ? hex(8) : '\\b'
    case 'p':
    case 'P': {
      if (!cur.unicode || cur.src[cur.at] !== '{') return c
      const end = cur.src.indexOf('}', cur.at)
      const body = cur.src.slice(cur.at + 1, end)
      cur.at = end + 1
      return property(body, c === 'P', inClass)
    }
    case 'x':
      // Without `u`, JavaScript reads \x not followed by two hex digits as a plain x.
      return /^[0-9A-Fa-f]{2}/.test(cur.src.slice(cur.at, cur.at + 2)) ? '\\x' : 'x'
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 'n':
    case 'r':
    case 't':
    case 'v':
    case 'f':
      return `\\${c}`
    case 'B':
      if (inClass) throw new UncheckablePattern('\\B inside a class is not supported', 'unsupported')
      return '\\B'
    default:
      // An identity escape: the character itself, escaped when RE2 would read it as syntax.
      return /[A-Za-z0-9]/.test(c) || c.charCodeAt(0) > 0x7f ? c : `\\${c}`
  }
}

/** Escapes that stand for a set of characters: never an end of a range. */
const SET_ESCAPE = /^[sSdDwWpP]$/

/** A class `[…]`, `cur.at` after the `[`. */
function characterClass(cur: Cursor): string {
  const {src} = cur
  if (src.startsWith('^]', cur.at)) {
    cur.at += 2
    return `[${ANY}]`
  }
  if (src[cur.at] === ']') {
    cur.at++
    return `[^${ANY}]`
  }
  const negated = src[cur.at] === '^'
  if (negated) cur.at++
  // Tokens first (a code point, or an escape): a '-' is a range only between two single characters.
  const tokens: {text: string; single: boolean}[] = []
  while (src[cur.at] !== ']') {
    if (src[cur.at] === '\\') {
      cur.at++
      const set = SET_ESCAPE.test(src[cur.at]) && (src[cur.at].toLowerCase() !== 'p' || (cur.unicode && src[cur.at + 1] === '{'))
      tokens.push({text: escape(cur, true), single: !set})
      continue
    }
    const c = String.fromCodePoint(src.codePointAt(cur.at)!)
    cur.at += c.length
    tokens.push({text: c === '[' || c === '^' ? `\\${c}` : c, single: true})
  }
  cur.at++
  let out = ''
  for (let i = 0; i < tokens.length; i++) {
    const [from, dash, to] = [tokens[i], tokens[i + 1], tokens[i + 2]]
    if (dash?.text === '-' && to && from.single && to.single) {
      out += `${from.text}-${to.text}`
      i += 2
    } else out += from.text === '-' ? '\\-' : from.text
  }
  return `[${negated ? '^' : ''}${out}]`
}

/** A group opening, `cur.at` after the `(`. */
function group(cur: Cursor): string {
  const rest = cur.src.slice(cur.at, cur.at + 3)
  if (/^\?(?:=|!|<=|<!)/.test(rest)) throw new UncheckablePattern('lookahead and lookbehind have no linear-time match', 'nonlinear')
  if (rest.startsWith('?<')) {
    cur.at += 2
    return '(?P<'
  }
  return '('
}

/** `{n}`, `{n,}` or `{n,m}` at `cur.at` (the `{`): a repetition, checked against RE2's limit; else a literal brace. */
function brace(cur: Cursor): string {
  const m = /^\{(\d+)(,(\d*))?\}/.exec(cur.src.slice(cur.at))
  if (!m) {
    cur.at++
    return '\\{'
  }
  for (const n of [m[1], m[3]]) if (n && Number(n) > MAX_REPEAT) throw new UncheckablePattern(`{${m[1]}${m[2] ?? ''}}: a repetition count over ${MAX_REPEAT} is not supported`, 'costly')
  cur.at += m[0].length
  // As numbers: JavaScript reads `{04}` as four times, RE2 as the text `{04}`.
  return `{${Number(m[1])}${m[2] === undefined ? '' : `,${m[3] ? Number(m[3]) : ''}`}}`
}

/** The pattern in RE2 syntax, read as JavaScript reads it. */
export function toRe2Syntax(source: string, unicode: boolean): string {
  const cur: Cursor = {src: source, at: 0, unicode}
  let out = ''
  while (cur.at < source.length) {
    const c = source[cur.at++]
    if (c === '\\') out += escape(cur, false)
    else if (c === '[') out += characterClass(cur)
    else if (c === '(') out += group(cur)
    else if (c === '.') out += DOT
    else if (c === '{') {
      cur.at--
      out += brace(cur)
    } else if (c === '}' || c === ']') out += `\\${c}`
    else out += c
  }
  return out
}

/** A pattern already in RE2 syntax (built by keyward, not read from a user), compiled by re2js. */
export function re2RegExp(syntax: string): LinearRegExp {
  return re2().compile(syntax)
}

/**
 * The most a pattern may cost to compile, in the units of `compileCost`: 25 to 60 ms of the
 * event loop at the most, whatever the pattern is made of (1 December, this machine); real
 * patterns cost tens to a few thousand (a UUID's about 400, `^.{1,1000}$` about 10,000).
 * Matching is linear whatever the pattern, but compiling is not free: `(` + 1,000 characters +
 * `){1000}` is valid RE2 (each count within its limit) and a program of a million instructions,
 * which took re2js 0.75 s and tens of MB. A pattern over this is an UncheckablePattern.
 */
export const MAX_COMPILE_COST = 50_000

/** What one schema's patterns may cost together (validate.ts): four patterns at the most, or many fields that each limit a length, 0.1 to 0.25 s once per schema at the worst. */
export const MAX_SCHEMA_COMPILE_COST = 4 * MAX_COMPILE_COST

/** What compiling may still spend, shared by the patterns of one schema (validate.ts). */
export interface CompileBudget {
  left: number
}

/**
 * What the parts of a pattern weigh, a literal being 1: a class is 2 and each of its items 1, a
 * range 3 (more under ignoreCase, by its span), a Unicode property (`\p{L}`) hundreds, since
 * re2js expands it into the ranges it stands for (it took 90 to 290 µs for one, a literal under
 * 1 µs; 1 December, this machine), and each optional copy of `{n,m}` 4 more than what it copies.
 */
const WEIGHT = {class: 2, item: 1, range: 3, shorthand: 3, property: 500, optional: 4}
/**
 * Under ignoreCase a range costs re2js more the more code points it spans (it folds each case):
 * this many per unit, up to FOLDED_CLASS_MOST for one class (`\S` alone spans nearly all of
 * Unicode, and took it about 5 ms).
 */
const FOLDED_PER_UNIT = 64
const FOLDED_CLASS_MOST = 2_000
/** Groups one inside the next, at the most. */
const MAX_GROUP_DEPTH = 100
/** The longest pattern read at all: rewriting into RE2 syntax is linear, but not free (0.4 s for 1 MiB). */
export const MAX_PATTERN_LENGTH = 10_000

/** One item of a class at `at`: its code point when it is one character, where it ends, and what it weighs. */
function classItem(syntax: string, at: number): {point?: number; last: number; weight: number} {
  if (syntax[at] !== '\\') {
    const point = syntax.codePointAt(at)!
    return {point, last: at + (point > 0xffff ? 1 : 0), weight: WEIGHT.item}
  }
  const next = syntax[at + 1]
  if (syntax[at + 2] === '{' && 'xpP'.includes(next)) {
    const close = syntax.indexOf('}', at)
    const last = close < 0 ? syntax.length : close
    return next === 'x' ? {point: Number.parseInt(syntax.slice(at + 3, last), 16), last, weight: WEIGHT.item} : {last, weight: WEIGHT.property}
  }
  if (next === 'x' && /^[0-9A-Fa-f]{2}$/.test(syntax.slice(at + 2, at + 4))) return {point: Number.parseInt(syntax.slice(at + 2, at + 4), 16), last: at + 3, weight: WEIGHT.item}
  if (next !== undefined && 'dDwWsS'.includes(next)) return {last: at + 1, weight: WEIGHT.shorthand}
  return {point: next?.codePointAt(0), last: at + 1, weight: WEIGHT.item}
}

/**
 * About what compiling `syntax` (RE2 syntax, as toRe2Syntax writes it) costs, in WEIGHT's units:
 * a group or alternative adds 1 or 2, and a repetition `{n,m}` copies what it repeats up to m
 * times (n + 1 when open-ended). Read in one pass; the nesting of groups is a stack, and groups
 * nested deeper than MAX_GROUP_DEPTH are an UncheckablePattern.
 */
export function compileCost(syntax: string, ignoreCase = false): number {
  const frames: {total: number; last: number}[] = [{total: 0, last: 0}]
  let top = frames[0]
  const atom = (cost: number) => {
    top.total += cost
    top.last = cost
  }
  // Where `ch` is from `from` on; the end when it is not there, so the walk always moves forward.
  const to = (ch: string, from: number) => {
    const at = syntax.indexOf(ch, from)
    return at < 0 ? syntax.length : at
  }
  for (let i = 0; i < syntax.length; i++) {
    const c = syntax[i]
    if (c === '\\') {
      const next = syntax[++i]
      // \x{…}, \p{…}, \P{…}: skip the braces.
      if (syntax[i + 1] === '{' && 'xpP'.includes(next)) i = to('}', i)
      atom(next === 'p' || next === 'P' ? WEIGHT.property : 'dDwWsS'.includes(next) ? WEIGHT.shorthand : 1)
    } else if (c === '[') {
      let cost = WEIGHT.class
      let folded = 0
      // The code point of the item before, while it may start a range.
      let from: number | undefined
      for (i++; i < syntax.length && syntax[i] !== ']'; i++) {
        if (syntax[i] === '-' && from !== undefined && syntax[i + 1] !== ']') {
          const end = classItem(syntax, i + 1)
          i = end.last
          cost += end.weight + WEIGHT.range - WEIGHT.item
          if (ignoreCase && end.point !== undefined) folded += Math.floor(Math.abs(end.point - from) / FOLDED_PER_UNIT)
          from = undefined
          continue
        }
        const item = classItem(syntax, i)
        i = item.last
        cost += item.weight
        from = item.point
      }
      atom(cost + Math.min(folded, FOLDED_CLASS_MOST))
    } else if (c === '(') {
      if (syntax[i + 1] === '?') i = syntax[i + 2] === 'P' ? to('>', i) : to(':', i)
      frames.push((top = {total: 0, last: 0}))
      // re2js's work grows with the square of the nesting: 2,000 groups one in the next took it 0.1 s.
      if (frames.length > MAX_GROUP_DEPTH + 1) throw new UncheckablePattern(`groups nested deeper than ${MAX_GROUP_DEPTH}`, 'costly')
    } else if (c === ')' && frames.length > 1) {
      const inner = frames.pop()!
      top = frames[frames.length - 1]
      atom(inner.total + 2)
    } else if (c === '|') top.total += 1
    else if (c === '*' || c === '+' || c === '?') {
      top.total += 1
      top.last = 0
      if (syntax[i + 1] === '?') i++
    } else if (c === '{' && /^\{\d/.test(syntax.slice(i, i + 2))) {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(syntax.slice(i, i + 24))
      if (!m) atom(1)
      else {
        // n copies, then (m - n) optional ones, which re2js nests one in the next: each weighs WEIGHT.optional more.
        const least = Number(m[1])
        const optional = m[2] === undefined ? 0 : m[3] === '' ? 1 : Math.max(0, Number(m[3]) - least)
        top.total += top.last * Math.max(0, least + optional - 1) + WEIGHT.optional * optional + 1
        top.last = 0
        i += m[0].length - 1
        if (syntax[i + 1] === '?') i++
      }
    } else atom(1)
  }
  return frames.reduce((sum, f) => sum + f.total, 0)
}

/**
 * The pattern compiled for linear-time matching. Throws a SyntaxError when JavaScript would
 * (an invalid pattern), and an UncheckablePattern when it is valid but has no linear-time match,
 * or would cost more to compile than MAX_COMPILE_COST, or than what `budget` has left (the
 * patterns of one schema share one).
 */
export function linearRegExp(source: string, flags: PatternFlags = {}, budget?: CompileBudget): LinearRegExp {
  if (source.length > MAX_PATTERN_LENGTH) throw new UncheckablePattern(`longer than ${MAX_PATTERN_LENGTH} characters`, 'costly')
  // JavaScript's parser decides what is valid (parsing is linear; nothing is matched here).
  new RegExp(source, `${flags.unicode ? 'u' : ''}${flags.ignoreCase ? 'i' : ''}`)
  const syntax = toRe2Syntax(source, Boolean(flags.unicode))
  const cost = compileCost(syntax, Boolean(flags.ignoreCase))
  if (cost > MAX_COMPILE_COST) throw new UncheckablePattern(`too large to compile in bounded time (it would cost about ${cost}; at most ${MAX_COMPILE_COST})`, 'costly')
  if (budget) {
    if (cost > budget.left) throw new UncheckablePattern(`the schema's patterns together are too large to compile in bounded time (they may cost ${MAX_SCHEMA_COMPILE_COST} in all)`, 'costly')
    budget.left -= cost
  }
  try {
    return re2().compile(syntax, flags.ignoreCase ? re2().CASE_INSENSITIVE : 0)
  } catch (err) {
    // RE2's message quotes part of the pattern, which an upstream may have chosen: kept short and on one line.
    const reason = (err as Error).message.replace(/^error parsing regexp: /, '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').slice(0, 120)
    // Repetitions nested past RE2's total of 1,000 copies, or a program over its size limit: too large, not a construct it lacks.
    throw new UncheckablePattern(reason, /repeat count|too large/i.test(reason) ? 'costly' : 'unsupported')
  }
}
