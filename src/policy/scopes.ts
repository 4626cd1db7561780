/**
 * Scopes: which tools, prompts and resources a key may use. A scope is a list of glob patterns;
 * access is denied unless a grant matches, and an exclusion (`!pattern`) always wins over grants.
 *
 *   get_*               tool names (the default kind)
 *   prompt:summarize_*  prompt names
 *   resource:file:///srv/docs/**   resource URIs (`*` stays within one path segment, `**` crosses)
 *   !debug_*            exclusion
 */
import {KeywardError} from '../errors/index.js'
import {compileGlob, type CompiledGlob, markText} from './glob-match.js'

export type Kind = 'tool' | 'prompt' | 'resource'

/** The seed's presets; `full` also opens prompts and resources, which the seed did not serve. */
export const PRESETS: Readonly<Record<string, readonly string[]>> = {
  full: ['*', 'prompt:*', 'resource:**'],
  readonly: ['get_*', 'list_*'],
  limited: ['hello_world', 'echo'],
}

/** MCP tool names: 1-128 of these characters (spec 2025-11-25); prompt names are held to the same. */
const NAME_CHARS = /^[A-Za-z0-9_.\-*?]+$/
const MAX_NAME = 128
const RESOURCE_FORBIDDEN = /[\s{}()[\]]/
/** The longest glob picomatch compiles: a longer pattern would be stored, then fail every request of its key. */
const MAX_GLOB = 65_536

interface Pattern {
  source: string
  exclude: boolean
  kind: Kind
  glob: string
}

function invalid(pattern: string, why: string): KeywardError {
  return new KeywardError('INVALID_INPUT', `scope ${JSON.stringify(pattern)} ${why}`)
}

function parsePattern(source: string): Pattern {
  const exclude = source.startsWith('!')
  let rest = exclude ? source.slice(1) : source
  let kind: Kind = 'tool'
  const colon = rest.indexOf(':')
  if (colon !== -1) {
    const prefix = rest.slice(0, colon)
    if (prefix !== 'tool' && prefix !== 'prompt' && prefix !== 'resource') {
      throw invalid(source, `has unknown kind "${prefix}:"; use tool:, prompt: or resource:, or a plain tool-name pattern`)
    }
    kind = prefix
    rest = rest.slice(colon + 1)
  }
  if (rest === '') throw invalid(source, 'is empty after its prefix, so it matches nothing')
  if (rest.length > MAX_GLOB) throw invalid(`${source.slice(0, 60)}…`, `is longer than ${MAX_GLOB} characters, more than a pattern can be`)
  if (kind === 'resource') {
    if (RESOURCE_FORBIDDEN.test(rest)) throw invalid(source, 'uses whitespace, brackets or braces, which resource patterns do not support')
  } else {
    if (!NAME_CHARS.test(rest)) {
      throw invalid(source, `can never match: ${kind} names use only letters, digits, _ - and . (with * and ? as wildcards)`)
    }
    if (rest.replace(/\*/g, '').length > MAX_NAME) throw invalid(source, `can never match: ${kind} names are at most ${MAX_NAME} characters`)
  }
  return {source, exclude, kind, glob: rest}
}

/**
 * The most markers a pattern's linear form may need at each position of a name: each `** / *`
 * segment pair in a row adds three, and the text it reads grows by that much per character
 * (five pairs took 1.3 s and 640 MB on a 256 KiB URI). Patterns people write need one to six.
 */
const MAX_COPIES = 8

/** The pattern's glob compiled; refused when it has no linear-time form (a backslash read as a backreference), or one too costly. */
function compile(p: Pattern): CompiledGlob {
  let glob: CompiledGlob
  try {
    glob = compileGlob(p.glob)
  } catch (err) {
    throw invalid(p.source, `cannot be matched in linear time (${(err as Error).message}); write the characters without a backslash`)
  }
  if (glob.copies > MAX_COPIES) throw invalid(p.source, 'has too many wildcard segments in a row (** and * between slashes) to be matched in bounded time; write fewer')
  return glob
}

/** Checks one pattern as written by a user; throws with the reason when it could never match or could not be matched safely. */
export function checkPattern(source: string): void {
  compile(parsePattern(source)).linear()
}

/** Splits commas, expands preset names, validates every pattern and the set as a whole. */
export function expandScopes(inputs: readonly string[]): string[] {
  const out: string[] = []
  for (const raw of inputs.flatMap((i) => i.split(','))) {
    const item = raw.trim()
    if (item === '') continue
    const expanded = PRESETS[item] ?? [item]
    for (const p of expanded) {
      checkPattern(p)
      if (!out.includes(p)) out.push(p)
    }
  }
  return out
}

/** A scope set must grant something, or the key could do nothing at all. */
export function checkScopeSet(patterns: readonly string[]): void {
  const parsed = patterns.map((p) => parsePattern(p))
  const grants = parsed.filter((p) => !p.exclude)
  if (grants.length === 0) {
    throw new KeywardError('INVALID_INPUT', `scopes ${JSON.stringify(patterns)} grant nothing: exclusions (!pattern) only narrow grants; add a grant such as "*" or a preset (${Object.keys(PRESETS).join(', ')})`)
  }
  const excluded = (g: Pattern) => parsed.some((e) => e.exclude && e.kind === g.kind && (e.glob === g.glob || e.glob === '*' || e.glob === '**'))
  if (grants.every((g) => excluded(g))) {
    throw new KeywardError('INVALID_INPUT', `scopes ${JSON.stringify(patterns)} match nothing: every grant is excluded`)
  }
}

/** Decodes runs of percent-escapes, but for `/` and `%` themselves (a `%2F` is no segment break to a server, and `%25` no escape). */
function decodeEscapes(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run).replace(/[/%]/g, (c) => (c === '/' ? '%2F' : '%25'))
    } catch {
      // Not UTF-8: left as written.
      return run.toUpperCase()
    }
  })
}

/**
 * A resource URI as a server reads it, when that differs from its spelling: the scheme and host
 * lower-cased, `file://localhost/` as `file:///`, dot segments (also `%2e%2e`) resolved (the URL
 * parser's work), then percent-escapes decoded (but for `/` and `%`) and repeated slashes in the
 * path made one, as a file server resolves them. Without this, an exclusion such as
 * `!resource:file:///srv/secret/**` is stepped round by `file:///srv/%73ecret/key`. Decoding, not
 * encoding: what the URL parser escapes (a space, `{` of a template, non-ASCII) reads as written,
 * so a pattern that names it literally still matches. Undefined for a string the URL parser
 * refuses (then its spelling is all there is).
 */
function canonicalUri(uri: string): string | undefined {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return undefined
  }
  const tail = url.pathname + url.search + url.hash
  const path = decodeEscapes(url.pathname).replace(/\/{2,}/g, '/')
  return url.href.slice(0, url.href.length - tail.length) + path + decodeEscapes(url.search + url.hash)
}

/** A `.` or `..` path segment. */
const DOT_SEGMENT = /\/\.{1,2}(?:[/?#]|$)/

interface Compiled {
  kind: Kind
  exclude: boolean
  glob: CompiledGlob
}

/**
 * A compiled, immutable scope set; build it once per key and reuse it for every request. Matching
 * is bounded by the name's length (src/policy/glob-match.ts): names and URIs are chosen by clients
 * and upstreams. A short name is matched by V8 (a few nanoseconds), a long one in linear time.
 */
export class ScopeSet {
  private readonly patterns: Compiled[]
  /** Per kind, the markers its globs need in the text they read in linear time. */
  private readonly marking = new Map<Kind, {copies: number; tests: number}>()

  constructor(readonly sources: readonly string[]) {
    this.patterns = sources.map((s) => {
      const p = parsePattern(s)
      const glob = compile(p)
      const marking = this.marking.get(p.kind) ?? {copies: 1, tests: 0}
      this.marking.set(p.kind, {copies: Math.max(marking.copies, glob.copies), tests: marking.tests | glob.tests})
      return {kind: p.kind, exclude: p.exclude, glob}
    })
  }

  /** True when both were built from the same patterns, in the same order: they allow the same. */
  sameAs(other: ScopeSet): boolean {
    return this.sources.length === other.sources.length && this.sources.every((s, i) => s === other.sources[i])
  }

  allows(kind: Kind, name: string): boolean {
    if (kind !== 'resource') return this.matches(kind, name)
    // Deny wins over a respelling too: the URI must be allowed as sent and as its server reads it.
    const canonical = canonicalUri(name)
    if (!this.matches(kind, name) || (canonical !== undefined && canonical !== name && !this.matches(kind, canonical))) return false
    // An encoded slash is one segment to a server that decodes after splitting the path, and a
    // break to one that decodes the whole path first (common: decodeURIComponent(url.pathname)).
    // Which one stands behind the URI is unknown, so exclusions hold against both readings. That
    // reading is canonical again: a `..%2F` is a dot segment to such a server, and `file:///%2Fsrv`
    // its `//srv`, that is `/srv`.
    const decoded = canonical?.replace(/%2F/g, '/')
    if (decoded === undefined || decoded === canonical) return true
    const slashed = canonicalUri(decoded) ?? decoded
    if (this.excludes(kind, slashed)) return false
    // A dot segment made with encoded slashes (`..%2F`) climbs, to such a server, out of where the
    // URI seems to be: then a grant must hold where it lands too. Other encoded slashes stay inside
    // one segment for grants (`github://repos/owner%2Fname` under `resource:github://repos/*`).
    return !DOT_SEGMENT.test(decoded) || this.matches(kind, slashed)
  }

  private excludes(kind: Kind, name: string): boolean {
    let text: string | undefined
    return this.patterns.some((p) => p.exclude && p.kind === kind && this.test(p, name, () => (text ??= this.marked(kind, name))))
  }

  private matches(kind: Kind, name: string): boolean {
    let text: string | undefined
    let granted = false
    for (const p of this.patterns) {
      if (p.kind !== kind || !this.test(p, name, () => (text ??= this.marked(kind, name)))) continue
      if (p.exclude) return false
      granted = true
    }
    return granted
  }

  /** One pattern against a name: by V8 while its backtracking is bounded on a name that long, else in linear time (both answer alike). */
  private test(p: Compiled, name: string, marked: () => string): boolean {
    return name.length <= p.glob.quickUpTo ? p.glob.quick.test(name) : p.glob.linear().test(marked())
  }

  /** The name as this kind's globs read it in linear time, marked once for all of them. */
  private marked(kind: Kind, name: string): string {
    const {copies, tests} = this.marking.get(kind)!
    return markText(name, copies, tests)
  }
}
