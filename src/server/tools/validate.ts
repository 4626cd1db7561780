/**
 * Tool arguments checked against the tool's JSON Schema, built-in and upstream alike (upstream
 * tools arrive as JSON Schema). Validators are compiled on first use and cached per schema.
 *
 * `pattern` and `patternProperties` run on re2js (linear time): the schema comes from an
 * upstream and the string from a client, and JavaScript's backtracking engine would let
 * `^(a+)+$` against `aaa…!` occupy the server for seconds per request. A schema with a pattern
 * that has no linear-time match (a backreference, a lookaround) cannot be checked: calls of
 * that tool are refused (docs/gateway.md), rather than passed on unchecked.
 *
 * Compiling is bounded as matching is: each pattern may cost at most MAX_COMPILE_COST, and all
 * the patterns of one schema together MAX_SCHEMA_COMPILE_COST (a schema over either is
 * uncheckable, as above), since re2js compiles on the event loop and a valid pattern can take it
 * most of a second.
 *
 * Each schema gets an ajv instance of its own (under half a millisecond to make), dropped with
 * the schema: one shared instance keeps every schema and pattern it ever compiled, and an
 * upstream that lists new schema objects at every list change would grow it for good.
 *
 * `uniqueItems` is checked in linear time too: ajv's own compares every pair of items that are
 * not all numbers or strings, and 1 MiB of small arrays took it a minute.
 */
import type {Ajv, CodeOptions, ErrorObject, ValidateFunction} from 'ajv'

import {type CompileBudget, linearRegExp, MAX_SCHEMA_COMPILE_COST, UncheckablePattern} from '../../regex/linear-regex.js'
import {canonicalJson} from '../../upstreams/pins.js'

/** What the schema being compiled may still spend on its patterns: compile() is synchronous, so one at a time. */
let compiling: CompileBudget = {left: MAX_SCHEMA_COMPILE_COST}

/** ajv's regular-expression engine: the linear one. `toString` is ajv's cache key for a compiled pattern. */
const linearEngine: NonNullable<CodeOptions['regExp']> = Object.assign(
  (pattern: string, u: string) => {
    const re = linearRegExp(pattern, {unicode: u === 'u'}, compiling)
    return {test: (s: string) => re.test(s), toString: () => `/${pattern}/${u}`}
  },
  {code: 'linearRegExp'},
)

const OPTIONS = {allErrors: false, strict: false, validateSchema: false, coerceTypes: false, useDefaults: false, code: {regExp: linearEngine}} as const

/** Items equal as JSON (key order aside) have the same canonical text: one pass over a set instead of every pair. */
function allUnique(unique: boolean, items: unknown[]): boolean {
  if (!unique) return true
  const seen = new Set<string>()
  for (const item of items) {
    let text: string
    try {
      text = canonicalJson(item)
    } catch {
      // Nested too deep to canonicalise: as it stands (the upstream checks its own arguments too).
      text = JSON.stringify(item)
    }
    if (seen.has(text)) return false
    seen.add(text)
  }
  return true
}

/** An ajv instance with the formats, and uniqueItems in linear time. */
async function withFormats(ajv: Ajv): Promise<Ajv> {
  const {default: addFormats} = await import('ajv-formats')
  ;(addFormats as unknown as (a: Ajv) => void)(ajv)
  ajv.removeKeyword('uniqueItems')
  ajv.addKeyword({keyword: 'uniqueItems', type: 'array', schemaType: 'boolean', validate: allUnique})
  return ajv
}

/**
 * Draft-07: what most tools declare, and what no $schema means; 2020-12 for schemas that say so.
 * Each is loaded on the first call that needs it: ajv is about 25 ms of a stdio server's time to
 * its first answer, and nothing before the first tools/call validates anything.
 */
let draft07: Promise<typeof import('ajv').Ajv> | undefined
let draft2020: Promise<typeof import('ajv/dist/2020.js').Ajv2020> | undefined

/** A new ajv instance for `schema`'s draft (see the module comment for why one per schema). */
async function compilerFor(schema: object): Promise<Ajv> {
  const declared = (schema as {$schema?: unknown}).$schema
  if (typeof declared !== 'string' || !declared.includes('2020-12')) {
    draft07 ??= import('ajv').then((m) => m.Ajv)
    return withFormats(new (await draft07)(OPTIONS))
  }
  draft2020 ??= import('ajv/dist/2020.js').then((m) => m.Ajv2020)
  return withFormats(new (await draft2020)(OPTIONS) as unknown as Ajv)
}

const compiled = new WeakMap<object, ValidateFunction | Error>()

/** Where in the arguments a problem is, as a user writes it: `message`, `items[2].name`, or `(the arguments)`. */
function field(error: ErrorObject): string {
  const segments = error.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
  const params = error.params as {missingProperty?: string; additionalProperty?: string}
  if (params.missingProperty) segments.push(params.missingProperty)
  if (params.additionalProperty) segments.push(params.additionalProperty)
  if (segments.length === 0) return '(the arguments)'
  return segments.map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`)).join('')
}

function describe(error: ErrorObject): string {
  switch (error.keyword) {
    case 'required':
      return 'is required'
    case 'additionalProperties':
      return 'is not an accepted argument'
    case 'uniqueItems':
      return 'must not hold the same item twice'
    default:
      return error.message ?? 'is invalid'
  }
}

export interface Verdict {
  ok: boolean
  /** For a refusal: the field and what is wrong with it. */
  problem?: string
  /** For a refusal: the schema has a pattern keyward cannot match in linear time, and why. */
  uncheckable?: string
}

/**
 * Checks `args` against `schema`. A schema that does not compile otherwise accepts any object
 * (it is the upstream's to check); one with an uncheckable pattern accepts nothing.
 */
export async function validateArguments(schema: object, args: unknown): Promise<Verdict> {
  let validate = compiled.get(schema)
  if (validate === undefined) {
    const compiler = await compilerFor(schema)
    try {
      compiling = {left: MAX_SCHEMA_COMPILE_COST}
      validate = compiler.compile(schema)
    } catch (err) {
      validate = err as Error
    }
    compiled.set(schema, validate)
  }
  if (validate instanceof UncheckablePattern) return {ok: false, uncheckable: validate.reason}
  if (validate instanceof Error) {
    return typeof args === 'object' && args !== null && !Array.isArray(args) ? {ok: true} : {ok: false, problem: '(the arguments) must be an object'}
  }
  if (validate(args)) return {ok: true}
  const error = validate.errors![0]
  return {ok: false, problem: `${field(error)} ${describe(error)}`}
}
