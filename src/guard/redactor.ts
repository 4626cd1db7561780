/**
 * Secret redaction: every vault secret of 8 characters or more, and every string in a known
 * token format, is replaced with `[REDACTED:NAME]` in what reaches a client.
 *
 * One matcher for all secrets, built once per vault load: a rolling hash of every 8-character
 * window of the text is looked up in a bit filter, then in a table of the secrets' first 8
 * characters, and only then compared. So the cost is one pass over the text whatever the number
 * of secrets (about 1 ms per 100 KB with 10,000 of them; see `npm run bench`). The published
 * Aho-Corasick packages for JavaScript were 10 to 1000 times slower on this job.
 *
 * Matches are leftmost, then longest: a secret that contains another is redacted whole.
 */
import {KEY_TAIL} from '../keys/format.js'
import {TOKEN_SHAPES} from './token-shapes.js'

/** Base64 every decoder reads the same way: the standard alphabet, white space, padding at the end. */
const STANDARD_BASE64 = /^[A-Za-z0-9+/\s]*(=\s*){0,2}$/

/** Characters hashed per window: the shortest secret redacted. */
export const MIN_SECRET_LENGTH = 8

/**
 * Values never redacted although a secret holds them: common words a config value often is
 * (`NODE_ENV=production`, `LOG_LEVEL=information`). Redacting one would turn every result that
 * uses the word into `[REDACTED:…]`, a false alarm that hides the text; a real credential is not
 * a dictionary word. Only words of MIN_SECRET_LENGTH or more are listed: shorter ones are never
 * redacted anyway.
 */
const COMMON_WORDS = new Set([
  'production', 'development', 'localhost', 'disabled', 'readonly', 'readwrite', 'read-only', 'read-write',
  'password', 'username', 'anonymous', 'information', 'everything', 'undefined', 'optional', 'required',
  'standard', 'internal', 'external', 'critical', 'database', 'postgres', 'postgresql', 'memcached',
  'javascript', 'typescript', 'automatic', 'manually', 'persistent', 'temporary', 'continuous', 'headless',
  'sandboxed', 'unlimited', 'restricted', 'streamable', 'compressed', 'plaintext', 'markdown', 'complete',
  'incomplete', 'positive', 'negative', 'absolute', 'relative', 'staging-env', 'debugging', 'diagnostic',
  'diagnostics', 'enterprise', 'community', 'personal', 'organization', 'workspace', 'repository',
  'protected', 'unprotected', 'encrypted', 'unencrypted',
])
const W = MIN_SECRET_LENGTH
const BASE = 0x01000193
const FILTER_BITS = 21
/** BASE^(W-1) mod 2^32: what the character leaving the window contributed. */
const OUT = (() => {
  let p = 1
  for (let i = 0; i < W - 1; i++) p = Math.imul(p, BASE)
  return p
})()

/**
 * Token formats redacted even when the vault does not hold them (guard/token-shapes.ts), each
 * with a literal that must occur for it to match. One expression per format: V8 runs five
 * simple ones several times faster than their alternation.
 */
const TOKEN_FORMATS = TOKEN_SHAPES.filter((shape) => shape.redact).map(({name, hint, inText}) => ({name, hint, re: new RegExp(inText, 'g')}))

interface Entry {
  value: string
  name: string
}

function windowHash(text: string, at: number): number {
  let h = 0
  for (let i = at; i < at + W; i++) h = (Math.imul(h, BASE) + text.charCodeAt(i)) | 0
  return h
}

function slot(h: number): number {
  return Math.imul(h, 0x9e3779b1) >>> (32 - FILTER_BITS)
}

export interface RedactorOptions {
  /** Redact the token formats above too (on with guard.redact). */
  tokens?: boolean
}

/**
 * The deepest a value is read: the redactor reads no deeper, so whatever crosses keyward nests no
 * deeper either (a client's arguments, guard/patterns.ts; an upstream's messages, link.ts; a
 * client's whole message, with room for the message around its arguments, parse-message.ts).
 */
export const MAX_NESTING = 64

export class Redactor {
  private readonly filter = new Uint32Array(2 ** FILTER_BITS / 32)
  private readonly table = new Map<number, Entry[]>()
  private readonly tokens: boolean
  readonly size: number
  /** The secrets as the bytes of their UTF-8 (as Latin-1 text), for the base64 MCP carries; built on first use. */
  private byteMatcher?: Redactor
  private readonly values: [name: string, value: string][] = []

  /** `secrets`: name and value; values shorter than 8 characters (they would match everywhere) and common words are not redacted. */
  constructor(secrets: Iterable<readonly [name: string, value: string]>, options: RedactorOptions = {}) {
    this.tokens = options.tokens ?? true
    const seen = new Set<string>()
    for (const [name, value] of secrets) {
      if (value.length < W || seen.has(value) || COMMON_WORDS.has(value.toLowerCase())) continue
      seen.add(value)
      this.values.push([name, value])
      const h = windowHash(value, 0)
      const s = slot(h)
      this.filter[s >>> 5] |= 1 << (s & 31)
      const list = this.table.get(h)
      if (list) {
        list.push({value, name})
        list.sort((a, b) => b.value.length - a.value.length)
      } else this.table.set(h, [{value, name}])
    }
    this.size = seen.size
  }

  /** A redactor that changes nothing (guard.redact false). */
  static readonly none = new Redactor([], {tokens: false})

  /** One matcher over every secret of a vault (its `secrets` table: name and bytes), and the token formats. */
  static ofSecrets(secrets: Iterable<readonly [name: string, record: {value: Buffer}]>): Redactor {
    const pairs: [string, string][] = []
    for (const [name, record] of secrets) pairs.push([name, record.value.toString('utf8')])
    return new Redactor(pairs)
  }

  get active(): boolean {
    return this.size > 0 || this.tokens
  }

  /** The text with every secret and token replaced; the names replaced are added to `found`. */
  text(text: string, found?: Set<string>): string {
    const out = this.size > 0 && text.length >= W ? this.secrets(text, found) : text
    return this.tokens ? this.tokenFormats(out, found) : out
  }

  private secrets(text: string, found?: Set<string>): string {
    const {filter, table} = this
    const end = text.length - W
    let parts: string[] | undefined
    let copied = 0
    let i = 0
    let h = windowHash(text, 0)
    while (i <= end) {
      const s = slot(h)
      if (filter[s >>> 5] & (1 << (s & 31))) {
        const list = table.get(h)
        const hit = list?.find((e) => text.startsWith(e.value, i))
        if (hit) {
          ;(parts ??= []).push(text.slice(copied, i), `[REDACTED:${hit.name}]`)
          found?.add(hit.name)
          i += hit.value.length
          copied = i
          if (i > end) break
          h = windowHash(text, i)
          continue
        }
      }
      if (i === end) break
      h = (Math.imul(h - Math.imul(text.charCodeAt(i), OUT), BASE) + text.charCodeAt(i + W)) | 0
      i++
    }
    if (!parts) return text
    parts.push(text.slice(copied))
    return parts.join('')
  }

  /**
   * Base64 where MCP carries it (an image, a resource's blob). Its bytes are what a client reads,
   * so they are checked (a .env file read as a blob): decoded, the secrets matched over them as
   * over text (leftmost, longest) and the token formats too, and on a hit written as base64
   * again. Base64 that decoders read differently (Node takes `-` and `_`, others skip them) is
   * always written again, in the standard alphabet, so that what a client decodes is what was
   * checked. Then the payload is read as text too, for a secret written in it plainly; base64
   * with nothing found is returned as it came.
   */
  private base64(text: string, found?: Set<string>): string {
    // As Latin-1, one character per byte: the secrets' UTF-8 bytes are matched exactly, whatever the payload encodes.
    this.byteMatcher ??= new Redactor(
      this.values.map(([name, value]): [string, string] => [name, Buffer.from(value, 'utf8').toString('latin1')]),
      {tokens: this.tokens},
    )
    const bytes = Buffer.from(text, 'base64').toString('latin1')
    const redacted = this.byteMatcher.text(bytes, found)
    const out = redacted !== bytes || !STANDARD_BASE64.test(text) ? Buffer.from(redacted, 'latin1').toString('base64') : text
    // Then as text: a secret written in it plainly (whose characters base64 may have, and keeps when written again).
    return this.text(out, found)
  }

  private tokenFormats(text: string, found?: Set<string>): string {
    let out = text
    for (const {name, hint, re} of TOKEN_FORMATS) {
      if (!out.includes(hint) || (name === 'api-key' && !KEY_TAIL.test(out))) continue
      out = out.replace(re, () => {
        found?.add(name)
        return `[REDACTED:${name}]`
      })
    }
    return out
  }

  /**
   * Every string of a message or a result, recursively, object keys included: a copy where
   * something changed, the same object where nothing did. The base64 MCP carries (an image, a
   * resource's blob) is read as the bytes it encodes as well as text (`base64`), but only where
   * MCP puts it, counted from the top (`Place`): the same field anywhere else (structured
   * content, a nested `resource`) is text like any other.
   */
  value<T>(value: T, found?: Set<string>): T {
    return this.walk(value, found, 'top', 0)
  }

  /** Every string of JSON that is no message (an error's data, arguments, an audit record's details): all of it text. */
  data<T>(value: T, found?: Set<string>): T {
    return this.walk(value, found, undefined, 0)
  }

  private walk<T>(value: T, found: Set<string> | undefined, place: Place | undefined, depth: number): T {
    if (!this.active) return value
    if (typeof value === 'string') return this.text(value, found) as T
    if (depth > MAX_NESTING || typeof value !== 'object' || value === null) return value
    if (Array.isArray(value)) {
      const item = place === undefined ? undefined : ITEM_OF[place]
      let copy: unknown[] | undefined
      for (let i = 0; i < value.length; i++) {
        const next = this.walk(value[i], found, item, depth + 1)
        if (next !== value[i]) (copy ??= [...value])[i] = next
      }
      return (copy ?? value) as T
    }
    const record = value as Record<string, unknown>
    // A content block that is not in an array (a prompt or sampling message's content) is one all the same.
    const at = place === 'content' ? 'block' : place
    const binary = at === 'block' && (record.type === 'image' || record.type === 'audio') ? 'data' : at === 'resourceContents' ? 'blob' : undefined
    const keys = Object.keys(record)
    let entries: [string, unknown][] | undefined
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]
      const raw = record[key]
      const next = key === binary && typeof raw === 'string' ? this.base64(raw, found) : this.walk(raw, found, at === undefined ? undefined : placeOf(at, key, record), depth + 1)
      // Nothing shorter than a secret's window or a token can hold either.
      const name = key.length < W ? key : this.text(key, found)
      if (!entries && (next !== raw || name !== key)) entries = keys.slice(0, i).map((k): [string, unknown] => [k, record[k]])
      entries?.push([name, next])
    }
    // fromEntries defines each key as data, so a key named __proto__ stays a key.
    return (entries ? Object.fromEntries(entries) : value) as T
  }
}

/**
 * Where in a message or result a value is, as far as the base64 MCP carries goes: at its top
 * (a result, or a message with `params`; each of an input_required result's `inputRequests` is
 * one too), in its `params`, in `messages` or one of them, in a `content` (an array of blocks, or
 * one block; a tool_result block has one), in a content block, in `contents` (what
 * resources/read answers), or in one resource's contents (an item of `contents`, or a resource
 * block's `resource`). Anywhere else there is no place, and below it none either.
 */
type Place = 'top' | 'inputRequests' | 'params' | 'messages' | 'message' | 'content' | 'block' | 'contents' | 'resourceContents'

/** What the items of an array at a place are. */
const ITEM_OF: Partial<Record<Place, Place>> = {messages: 'message', content: 'block', contents: 'resourceContents'}

/** The place of `record[key]`, `record` being at `at`. */
function placeOf(at: Place, key: string, record: Record<string, unknown>): Place | undefined {
  switch (at) {
    case 'top':
      return key === 'params' ? 'params' : key === 'messages' ? 'messages' : key === 'content' ? 'content' : key === 'contents' ? 'contents' : key === 'inputRequests' ? 'inputRequests' : undefined
    case 'inputRequests':
      return 'top'
    case 'params':
      return key === 'messages' ? 'messages' : undefined
    case 'message':
      return key === 'content' ? 'content' : undefined
    case 'block':
      if (key === 'resource' && record.type === 'resource') return 'resourceContents'
      return key === 'content' && record.type === 'tool_result' ? 'content' : undefined
    default:
      return undefined
  }
}
