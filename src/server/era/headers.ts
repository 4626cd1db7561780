/**
 * The standard headers of a 2026-07-28 HTTP request, checked against its body (SEP-2243). A
 * proxy or load balancer may route on `Mcp-Method` and `Mcp-Name` without reading the body, so
 * a request whose headers say one thing and whose body another is refused, never served on
 * either reading. The body decides the era; these checks run only on a modern request.
 *
 * - `MCP-Protocol-Version` is required and must name the version in `_meta`;
 * - `Mcp-Method` is required and must name the body's method;
 * - `Mcp-Name` is required for tools/call, prompts/get (params.name) and resources/read
 *   (params.uri), and must equal it; a value may come Base64-encoded as `=?base64?…?=`.
 *
 * Every refusal is HTTP 400 with HEADER_MISMATCH and says which header disagrees with what.
 */
import {CODE, type EraRefusal, isPlainObject, META, metaOf} from './protocol.js'

/** The header values as received (undefined when absent); a repeated header is refused before this. */
export interface StandardHeaders {
  protocolVersion?: string
  method?: string
  name?: string
}

/** The body field `Mcp-Name` mirrors, per method. */
export const NAME_SOURCE: Readonly<Record<string, 'name' | 'uri'>> = {'tools/call': 'name', 'prompts/get': 'name', 'resources/read': 'uri'}

const BASE64_PREFIX = '=?base64?'
const BASE64_SUFFIX = '?='
const BASE64_CANONICAL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
/** What a mirrored value may hold unencoded (visible ASCII, space, tab): a client Base64-encodes anything else. */
const NOT_PLAIN = /[^\t\x20-\x7e]/

/**
 * Whether a header value holds what a client must have Base64-encoded. Node reads a header's
 * bytes as Latin-1, so the bytes of `Z\xFCrich` would read here as `Zürich`, while a proxy
 * comparing bytes (or UTF-8) reads another value: such a value is refused, never compared.
 */
export function needsEncoding(raw: string): boolean {
  return NOT_PLAIN.test(raw)
}

/** RFC 9110 optional whitespace around a field value. */
function trimOws(value: string): string {
  return value.replace(/^[ \t]+|[ \t]+$/g, '')
}

/** A header value, Base64 sentinel decoded; undefined when the sentinel is not canonical Base64 of UTF-8. */
export function decodeHeaderValue(raw: string): string | undefined {
  const value = trimOws(raw)
  if (!(value.startsWith(BASE64_PREFIX) && value.endsWith(BASE64_SUFFIX))) return value
  // `=?base64?=` both starts and ends like the sentinel: read as text here, as an empty payload by
  // the SDK (and so by a proxy that decodes as it does). No client sends it (a value that looks
  // like the sentinel is itself encoded), so it is refused rather than read either way.
  if (value.length < BASE64_PREFIX.length + BASE64_SUFFIX.length) return undefined
  const b64 = value.slice(BASE64_PREFIX.length, value.length - BASE64_SUFFIX.length)
  if (!BASE64_CANONICAL.test(b64)) return undefined
  const bytes = Buffer.from(b64, 'base64')
  try {
    // ignoreBOM: a leading U+FEFF is part of the value (a client encodes it, as any non-ASCII
    // character); stripping it refused `\uFEFFeu` sent as it must be, and let `eu` match a header
    // that a decoder keeping the BOM reads as another value.
    return new TextDecoder('utf-8', {fatal: true, ignoreBOM: true}).decode(bytes)
  } catch {
    return undefined
  }
}

const clip = (s: string) => (s.length > 120 ? `${s.slice(0, 120)}…` : s)

/** A HEADER_MISMATCH refusal: which header, and how it disagrees with the body. */
export function mismatch(reason: string, header: string, body: string): EraRefusal {
  return {status: 400, code: CODE.HEADER_MISMATCH, message: `Bad Request: the request headers and body disagree: ${clip(body)}`, data: {mismatch: {header: clip(header), body: clip(body)}}, reason}
}

/** Checks one modern JSON-RPC message (request or notification) against its headers; undefined when they agree. */
export function checkStandardHeaders(headers: StandardHeaders, message: {method: string; params?: unknown}): EraRefusal | undefined {
  const claimed = metaOf(message.params)?.[META.protocolVersion]
  const version = headers.protocolVersion === undefined ? undefined : trimOws(headers.protocolVersion)
  if (version === undefined) return mismatch('version_header_missing', '(missing)', `the body names protocol version ${String(claimed)} but the required MCP-Protocol-Version header is absent`)
  if (version !== claimed) return mismatch('version_header_mismatch', version, `the body names protocol version ${String(claimed)} but the MCP-Protocol-Version header names ${version}`)
  const method = headers.method === undefined ? undefined : trimOws(headers.method)
  if (method === undefined) return mismatch('method_header_missing', '(missing)', `the body names method ${message.method} but the required Mcp-Method header is absent`)
  if (method !== message.method) return mismatch('method_header_mismatch', method, `the body names method ${message.method} but the Mcp-Method header names ${method}`)
  const field = NAME_SOURCE[message.method]
  if (!field) return undefined
  const value = isPlainObject(message.params) && typeof message.params[field] === 'string' ? (message.params[field] as string) : undefined
  if (headers.name === undefined) {
    return value === undefined ? undefined : mismatch('name_header_missing', '(missing)', `the body carries params.${field}="${value}" but the required Mcp-Name header is absent`)
  }
  if (needsEncoding(headers.name)) return mismatch('name_header_encoding', 'Mcp-Name', 'the Mcp-Name header carries characters that must be Base64-encoded')
  const name = decodeHeaderValue(headers.name)
  if (name === undefined) return mismatch('name_header_encoding', headers.name, 'the Mcp-Name header carries an invalid Base64 value')
  if (value !== undefined && name !== value) return mismatch('name_header_mismatch', headers.name, `the body carries params.${field}="${value}" but the Mcp-Name header names "${name}"`)
  return undefined
}
