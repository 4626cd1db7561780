/**
 * The input guard's patterns: the seed's suspicious patterns (directory traversal, <script,
 * union … select, eval(), checked in every string value of the arguments, recursively, keys
 * included. `guard.patterns` names which apply, or adds /regular expressions/.
 *
 * Each test runs in time linear in the string: a client chooses the string, so a pattern that
 * backtracks would let one request occupy the server. The built-in ones are written so; a
 * custom /regex/ runs on re2js (src/regex/linear-regex.ts), and one that has no linear-time
 * match (a backreference, a lookaround) is refused when it is set.
 */
import {linearRegExp, type UncheckableKind, UncheckablePattern} from '../regex/linear-regex.js'
import {MAX_NESTING} from './redactor.js'

export interface GuardPattern {
  /** Its name in `guard.patterns`: recorded in the log and the audit, never told to the client. */
  name: string
  test(value: string): boolean
}

const UNION = /union/gi
const SELECT = /select/i

const BUILTIN: Record<string, (value: string) => boolean> = {
  traversal: (v) => /\.\.[/\\]/.test(v),
  script: (v) => /<\s*script/i.test(v),
  // "union" somewhere before "select": the first "union" decides, so this is one pass, not one per "union".
  'sql-union': (v) => {
    UNION.lastIndex = 0
    const at = UNION.exec(v)
    return at !== null && SELECT.test(v.slice(at.index + 5))
  },
  eval: (v) => /eval\s*\(/i.test(v),
}

/** What is wrong with a pattern keyward cannot use, and what to do, by why it cannot (linear-regex.ts). */
const UNUSABLE: Record<UncheckableKind, string> = {
  nonlinear: 'cannot be matched in linear time, so a client could make it run for ever; rewrite it without backreferences or lookarounds',
  costly: 'is too large to compile in bounded time, so it could stall the server; shorten it, or split it into several items',
  unsupported: 'uses what the linear-time engine does not support; rewrite it without that construct',
}

/** A custom `/regex/` item, case-insensitive, for linear-time matching; throws when it cannot be (the message says why). */
function customPattern(item: string): (value: string) => boolean {
  const custom = /^\/(.+)\/$/.exec(item)
  if (!custom) throw new Error('not a /regular expression/')
  try {
    const re = linearRegExp(custom[1], {ignoreCase: true})
    return (v) => re.test(v)
  } catch (err) {
    if (err instanceof UncheckablePattern) throw new Error(`${UNUSABLE[err.kind]} (${err.reason})`)
    throw new Error('is not a valid regular expression')
  }
}

/** Throws (with a reason to show) when a `/regex/` item of guard.patterns cannot be used. */
export function checkCustomPattern(item: string): void {
  customPattern(item)
}

/**
 * The items of a `guard.patterns` value. Commas separate them, except inside a `/regex/`, where
 * one may belong to the expression (`/a{1,3}/`): a regex item ends at an unescaped `/` followed
 * by a comma or the end.
 */
export function splitPatternList(value: string): string[] {
  const items: string[] = []
  let at = 0
  while (at <= value.length) {
    while (at < value.length && /\s/.test(value[at])) at++
    let end = value[at] === '/' ? (regexEnd(value, at) ?? value.indexOf(',', at)) : value.indexOf(',', at)
    if (end === -1) end = value.length
    const item = value.slice(at, end).trim()
    if (item !== '') items.push(item)
    at = end + 1
  }
  return items
}

/** Where the `/regex/` item opened at `open` ends: at the comma after its closing, unescaped `/`, or at the end. */
function regexEnd(value: string, open: number): number | undefined {
  for (let j = open + 1; j < value.length; j++) {
    if (value[j] === '\\') j++
    else if (value[j] === '/' && /^\s*(,|$)/.test(value.slice(j + 1))) {
      const comma = value.indexOf(',', j)
      return comma === -1 ? value.length : comma
    }
  }
  return undefined
}

/** The names `guard.patterns` can give; each one's test is in BUILTIN. */
export const BUILTIN_PATTERN_NAMES = Object.keys(BUILTIN)

/** The patterns a `guard.patterns` list names: built-in names, `/regular expressions/`, or `none`. */
export function guardPatterns(items: readonly string[]): GuardPattern[] {
  const out: GuardPattern[] = []
  for (const item of items) {
    if (item === 'none') return []
    const builtin = BUILTIN[item]
    if (builtin) out.push({name: item, test: builtin})
    else if (item.startsWith('/')) {
      try {
        out.push({name: item, test: customPattern(item)})
      } catch (err) {
        // Stored by an older keyward that accepted it: refusing every string beats leaving it unchecked or running it exponentially.
        out.push({name: `${item} (${(err as Error).message}; set guard.patterns again)`, test: () => true})
      }
    }
  }
  return out
}


/** The first pattern any string in `value` (keys included) matches, walking objects and arrays. */
export function findPattern(value: unknown, patterns: readonly GuardPattern[], depth = 0): GuardPattern | undefined {
  if (patterns.length === 0) return undefined
  // Deeper than any real argument: refused as if it matched, rather than left unchecked.
  if (depth > MAX_NESTING) return TOO_DEEP
  if (typeof value === 'string') return patterns.find((p) => p.test(value))
  if (Array.isArray(value)) {
    for (const item of value) {
      const hit = findPattern(item, patterns, depth + 1)
      if (hit) return hit
    }
    return undefined
  }
  if (typeof value === 'object' && value !== null) {
    for (const key of Object.keys(value)) {
      const hit = patterns.find((p) => p.test(key)) ?? findPattern((value as Record<string, unknown>)[key], patterns, depth + 1)
      if (hit) return hit
    }
  }
  return undefined
}

const TOO_DEEP: GuardPattern = {name: 'too-deep', test: () => false}
