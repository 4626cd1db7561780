/**
 * What in an upstream definition is, or looks like, a credential: for refusing it in a command's
 * arguments (every user can read them in /proc, and `upstream list` prints them), for masking it
 * wherever a definition is shown (an older vault may hold one), and for telling which values of
 * a migrated client config are secrets.
 *
 * Credential-shaped: a known token format; `NAME=VALUE` (`--token=…`, `password=…` in a
 * connection string, `?api_key=…`) or `"name": "value"` where NAME says token, secret,
 * password, API key and the like; `--password VALUE` as two arguments; a URL with a password
 * (`postgresql://user:pw@host/db`).
 */

import {looksLikeToken, TOKEN_INSIDE} from '../guard/token-shapes.js'

// The known token formats are guard/token-shapes.ts's, which the redactor reads too.
export {looksLikeToken} from '../guard/token-shapes.js'

/** Last words of a name that make its value a credential: `--github-token`, `--api-key`, `client_secret`. */
const CREDENTIAL_NOUNS = new Set(['token', 'secret', 'password', 'passwd', 'pwd', 'passphrase', 'apikey', 'pat', 'credential', 'credentials', 'bearer'])
/** Words before `key` that make it a credential (`--api-key`, `--access-key`); `--sort-key` is not one. */
const KEY_QUALIFIERS = new Set(['api', 'access', 'secret', 'private', 'client', 'auth', 'signing', 'encryption', 'master', 'license', 'account', 'service', 'app', 'subscription'])
/** Words of an environment variable's name that make its value a secret (issue 16: TOKEN, KEY, SECRET, PASSWORD, PAT, AUTH, CREDENTIAL). */
const SECRET_ENV_WORDS = new Set([...CREDENTIAL_NOUNS, 'key', 'keys', 'auth', 'authorization', 'cookie', 'session', 'tokens', 'secrets', 'passwords', 'private'])

/** A name as lowercase words: `--apiKey` and `API_KEY` are both `api key`. */
function words(name: string): string[] {
  return name
    .replace(/^-+/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '')
}

/** A flag or parameter name whose value is a credential: `--token`, `--api-key`, `password`; not `--max-tokens`, `--token-file`. */
export function isCredentialName(name: string, options: {bareKey?: boolean} = {}): boolean {
  const w = words(name)
  const last = w.at(-1)
  if (last === undefined) return false
  if (CREDENTIAL_NOUNS.has(last)) return true
  if (last !== 'key') return false
  return w.length === 1 ? options.bareKey !== false : KEY_QUALIFIERS.has(w.at(-2)!)
}

/** An environment variable whose value is a secret by its name: any word of it says so (`GITHUB_PERSONAL_ACCESS_TOKEN`, `AUTH_HEADER`). */
export function isSecretEnvName(name: string): boolean {
  return words(name).some((w) => SECRET_ENV_WORDS.has(w))
}

/** Values that only point at a credential: a path, a variable. */
export function isReference(value: string): boolean {
  return value === '' || /^(?:\/|\.{1,2}\/|~\/|[A-Za-z]:\\|\$\{?[A-Za-z_]|%[A-Za-z_][A-Za-z0-9_]*%$)/.test(value)
}

/** Bits of information per character, by character frequency. */
function entropy(value: string): number {
  const counts = new Map<string, number>()
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1)
  let bits = 0
  for (const n of counts.values()) bits -= (n / value.length) * Math.log2(n / value.length)
  return bits
}

/** A random-looking string: long, no spaces, letters mixed with digits or cases, and dense in information. */
export function looksHighEntropy(value: string): boolean {
  if (value.length < 16 || /\s/.test(value) || isReference(value) || /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return false
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((re) => re.test(value)).length
  return classes >= 2 && entropy(value) >= 3.5
}

/** Where in a string a credential sits: the span of its value, and what kind it is (never the value). */
export interface Span {
  start: number
  end: number
  why: string
}

// Every repetition below is bounded: a client config is untrusted input, and these run over it.
const URL_PASSWORD = /\b[a-z][a-z0-9+.-]{0,31}:\/\/[^/?#\s@:]{0,256}:([^/?#\s@]{1,512})@/gi
/** NAME=VALUE anywhere (flags, connection strings, query strings), and "name": "value" (JSON). */
const PAIR = /(?:^|[\s?&;,{]|--?)["']?([A-Za-z][A-Za-z0-9_.-]{0,63})["']?(?:=|\s{0,8}:\s{0,8}["'])([^\s"'&;,}]{0,4096})/g
/** A credential header written out: `Authorization: Bearer VALUE` (as mcp-remote's --header takes it). */
const HEADER = /\b(?:proxy-authorization|authorization|cookie|x-api-key|api-key|x-auth-token|private-token)\s{0,8}:\s{0,8}(?:(?:bearer|basic|token)\s{1,8})?([^\s"']{1,4096})/gi

/** The span of a match's last group, which ends where the match does. */
function valueSpan(m: RegExpMatchArray, value: string, why: string): Span {
  const end = m.index! + m[0].length
  return {start: end - value.length, end, why}
}

/** The credentials in one string, by span. */
export function credentialSpans(text: string): Span[] {
  const spans: Span[] = []
  if (looksLikeToken(text)) spans.push({start: 0, end: text.length, why: 'a token'})
  for (const m of text.matchAll(TOKEN_INSIDE)) spans.push({start: m.index, end: m.index + m[0].length, why: 'a token'})
  for (const m of text.matchAll(URL_PASSWORD)) {
    const end = m.index + m[0].length - 1
    spans.push({start: end - m[1].length, end, why: 'a URL with a password'})
  }
  for (const m of text.matchAll(HEADER)) if (!isReference(m[1])) spans.push(valueSpan(m, m[1], 'a credential header'))
  for (const m of text.matchAll(PAIR)) {
    const [, name, value] = m
    if (isCredentialName(name) && !isReference(value)) spans.push(valueSpan(m, value, `a ${name.replace(/^-+/, '')} value`))
  }
  return spans
}

/** The first credential in a command's arguments: `--password VALUE` as two arguments too. */
export function credentialInArgs(args: readonly string[]): {index: number; why: string} | undefined {
  for (let i = 0; i < args.length; i++) {
    const [span] = credentialSpans(args[i])
    if (span) return {index: i, why: span.why}
    const flag = /^--?([A-Za-z][A-Za-z0-9_.-]*)$/.exec(args[i])
    const next = args[i + 1]
    if (flag && next !== undefined && !next.startsWith('-') && isCredentialName(flag[1], {bareKey: false}) && !isReference(next)) return {index: i + 1, why: `a ${flag[1]} value`}
  }
  return undefined
}

/** The string with every credential in it replaced by `***`. */
export function maskCredentials(text: string): string {
  const spans = credentialSpans(text).sort((a, b) => a.start - b.start)
  let out = ''
  let at = 0
  for (const {start, end} of spans) {
    if (end <= at) continue
    out += `${text.slice(at, Math.max(at, start))}***`
    at = end
  }
  return out + text.slice(at)
}

/** A command's arguments as they may be shown: each credential masked, `--password VALUE` too. */
export function maskArgs(args: readonly string[]): string[] {
  return args.map((arg, i) => {
    const flag = i > 0 ? /^--?([A-Za-z][A-Za-z0-9_.-]*)$/.exec(args[i - 1]) : null
    if (flag && !arg.startsWith('-') && isCredentialName(flag[1], {bareKey: false}) && !isReference(arg)) return '***'
    return maskCredentials(arg)
  })
}
