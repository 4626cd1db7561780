/**
 * The `Mcp-Param-*` half of SEP-2243, as a server checks it. A tool may mark an argument of its
 * input schema `x-mcp-header: Region`; a 2026-07-28 client calling it over HTTP then mirrors the
 * argument's value into an `Mcp-Param-Region` header, so that a proxy or load balancer can route
 * (or allow) the call without reading the body. keyward lists upstream tools with their
 * declarations, so its own clients send these headers, and whatever stands in front of keyward
 * may have acted on them: a call whose headers and body disagree is refused (HTTP 400,
 * HEADER_MISMATCH), never served on the body's reading while a proxy took the header's.
 *
 * A declaration is valid (`invalidDeclaration`, the SDK client's rules) when its name is an RFC
 * 9110 token, unique but for case, on a string, integer or boolean property reached through a
 * chain of `properties` keys alone. A 2026-07-28 HTTP client leaves out a tool with one that is
 * not; so listing.ts has keyward's clients offered none: a 2026-07-28 HTTP upstream's SDK client
 * leaves such a tool out (it would mirror headers the upstream cannot trust), and any other
 * upstream's (stdio, 2025), which never reads these headers, has its declarations taken out of
 * the tool (`withoutDeclarations`), which then works for every client.
 *
 * The rules of the check, as the revision and the SDK's own HTTP entry have them:
 * - only properties reached through a chain of `properties` keys declare, walked as the SDK's
 *   client walks them when it mirrors (any object, an array too), so that no header a client
 *   sends goes unchecked;
 * - an argument absent or null: the header is not expected (a header sent anyway is ignored);
 * - an argument that is an object or an array: not mirrored, not checked;
 * - otherwise the header must be there and decode (the `=?base64?…?=` sentinel) to the value:
 *   strings and booleans compare as text, numbers numerically (`42.0` is `42`);
 * - a header carrying anything but visible ASCII, space and tab is refused: a client encodes such
 *   a value, and Node reads the bytes as Latin-1, so `Z\xFCrich` would match `Zürich` here
 *   while a proxy comparing bytes (or UTF-8) reads another value.
 *
 * A refusal names the header and the argument, never their values: arguments may be anything,
 * and refusals are logged and audited.
 */
import {TCHAR} from '../../net/http-token.js'
import {decodeHeaderValue, mismatch, needsEncoding} from './headers.js'
import type {EraRefusal} from './protocol.js'

/** One argument mirrored into a header: where it sits in `arguments`, and the header's name after `Mcp-Param-`. */
export interface ParamHeader {
  path: readonly string[]
  name: string
  type: string
}

const X_MCP_HEADER = 'x-mcp-header'
const PREFIX = 'mcp-param-'
const DECIMAL = /^-?\d+(\.\d+)?$/

/** A JSON object or array: what the SDK walks into, for schemas and for arguments alike. */
const isNode = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object'

/** The arguments an input schema mirrors into headers (none for most tools). */
export function paramHeadersOf(inputSchema: unknown): ParamHeader[] {
  const found: ParamHeader[] = []
  const visit = (schema: unknown, path: string[]): void => {
    if (!isNode(schema)) return
    const name = schema[X_MCP_HEADER]
    if (path.length > 0 && typeof name === 'string' && name.length > 0) found.push({path, name, type: typeof schema.type === 'string' ? schema.type : ''})
    const properties = schema.properties
    if (isNode(properties)) for (const key of Object.keys(properties)) visit(properties[key], [...path, key])
  }
  visit(inputSchema, [])
  return found
}

/** What a header name may be: an RFC 9110 token. */
const TOKEN = new RegExp(`^[${TCHAR}]+$`)
/** The types of argument a declaration may mirror; `number` is not one (the revision's list). */
const MIRRORED_TYPES = new Set(['string', 'integer', 'boolean'])
/** Keywords whose subschemas no chain of `properties` reaches; those in NAMED hold a name -> subschema object. */
const UNREACHABLE = ['items', 'prefixItems', 'contains', 'additionalProperties', 'unevaluatedProperties', 'unevaluatedItems', 'propertyNames', 'patternProperties', 'dependentSchemas', 'oneOf', 'anyOf', 'allOf', 'not', 'if', 'then', 'else', '$defs', 'definitions']
const NAMED = new Set(['patternProperties', 'dependentSchemas', '$defs', 'definitions'])
/** Deeper than this no schema is walked; an upstream's answer nests no deeper than 64 levels (link.ts), so it is never reached. */
const MAX_WALK = 128

/** Every subschema where a declaration may be looked for: its path, and whether a chain of `properties` alone reached it. */
function eachSchema(root: unknown, visit: (schema: Record<string, unknown>, path: readonly string[], reachable: boolean) => void): void {
  const walk = (node: unknown, path: string[], reachable: boolean): void => {
    if (!isNode(node) || path.length > MAX_WALK) return
    visit(node, path, reachable)
    const properties = node.properties
    if (isNode(properties)) for (const key of Object.keys(properties)) walk(properties[key], [...path, key], reachable)
    for (const keyword of UNREACHABLE) {
      const sub = node[keyword]
      if (sub === undefined) continue
      const branches = Array.isArray(sub) ? sub : isNode(sub) && NAMED.has(keyword) ? Object.values(sub) : [sub]
      for (const branch of branches) walk(branch, [...path, `<${keyword}>`], false)
    }
  }
  walk(root, [], true)
}

/**
 * Why a tool's declarations are not valid (SEP-2243), or undefined when they are (none is
 * valid). The reason is keyward's own words: never the upstream's text, which may be anything.
 */
export function invalidDeclaration(inputSchema: unknown): string | undefined {
  const seen = new Set<string>()
  let fault: string | undefined
  eachSchema(inputSchema, (schema, path, reachable) => {
    if (fault !== undefined || !(X_MCP_HEADER in schema)) return
    const name = schema[X_MCP_HEADER]
    if (!reachable || path.length === 0) fault = 'a declaration outside a chain of properties'
    else if (typeof name !== 'string' || !TOKEN.test(name)) fault = 'a header name that is not an RFC 9110 token'
    else if (typeof schema.type !== 'string' || !MIRRORED_TYPES.has(schema.type)) fault = 'a declaration on an argument that is not a string, integer or boolean'
    else if (seen.has(name.toLowerCase())) fault = 'one header name declared twice'
    else seen.add(name.toLowerCase())
  })
  return fault
}

/** A copy of an input schema without a declaration anywhere `invalidDeclaration` looks; data in it (`default`, `examples`) is left as it is. */
export function withoutDeclarations(inputSchema: unknown): unknown {
  // A JSON copy: the schema came from JSON, and `__proto__` stays a field (JSON.parse defines it).
  const copy = JSON.parse(JSON.stringify(inputSchema)) as unknown
  eachSchema(copy, (schema) => void delete schema[X_MCP_HEADER])
  return copy
}

/** An argument's value as its header carries it; undefined when it is not mirrored (absent, null, not a primitive, not exact). */
function asHeaderText(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (typeof value === 'number' && Number.isFinite(value) && !(Number.isInteger(value) && !Number.isSafeInteger(value))) return String(value)
  return undefined
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root
  for (const key of path) {
    if (!isNode(node)) return undefined
    node = node[key]
  }
  return node
}

/**
 * Checks one tools/call's `Mcp-Param-*` headers against its arguments; undefined when they agree.
 * `header` gives a header's values by lower-case name, as received.
 */
export function checkParamHeaders(declared: readonly ParamHeader[], args: unknown, header: (name: string) => readonly string[] | undefined): EraRefusal | undefined {
  for (const decl of declared) {
    const raw = valueAt(args, decl.path)
    const text = asHeaderText(raw)
    if (text === undefined) continue
    const headerName = `Mcp-Param-${decl.name}`
    const where = `arguments.${decl.path.join('.')}`
    const values = header(`${PREFIX}${decl.name.toLowerCase()}`)
    if (values === undefined || values.length === 0) return mismatch('param_header_missing', '(missing)', `the body carries ${where} but the required ${headerName} header is absent`)
    // Repeated, a proxy and keyward could each read a different copy.
    if (values.length > 1) return mismatch('param_header_repeated', headerName, `the ${headerName} header appears more than once`)
    if (needsEncoding(values[0])) return mismatch('param_header_encoding', headerName, `the ${headerName} header carries characters that must be Base64-encoded`)
    const decoded = decodeHeaderValue(values[0])
    if (decoded === undefined) return mismatch('param_header_encoding', headerName, `the ${headerName} header carries an invalid Base64 value`)
    const numeric = (decl.type === 'integer' || decl.type === 'number') && typeof raw === 'number' && DECIMAL.test(decoded)
    if (numeric ? Number(decoded) !== raw : decoded !== text) return mismatch('param_header_mismatch', headerName, `the ${headerName} header disagrees with ${where} in the body`)
  }
  return undefined
}
