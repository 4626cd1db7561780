/**
 * The `Mcp-Param-*` half of SEP-2243 as keyward checks it (src/server/era/param-headers.ts):
 * which arguments a tool's input schema mirrors into headers, and a call's headers against its
 * arguments. The cases are the revision's, as the SDK v2's own HTTP entry decides them.
 */
import assert from 'node:assert/strict'

import {Client} from '@modelcontextprotocol/client'

import {checkParamHeaders, invalidDeclaration, paramHeadersOf, withoutDeclarations} from '../../../../src/server/era/param-headers.js'

const schema = {
  type: 'object',
  properties: {
    region: {type: 'string', 'x-mcp-header': 'Region'},
    count: {type: 'integer', 'x-mcp-header': 'Count'},
    dry: {type: 'boolean', 'x-mcp-header': 'Dry-Run'},
    nested: {type: 'object', properties: {zone: {type: 'string', 'x-mcp-header': 'Zone'}}},
    plain: {type: 'string'},
  },
}
const declared = paramHeadersOf(schema)
const headersOf = (h: Record<string, string | string[]>) => (name: string) => {
  const v = h[name]
  return v === undefined ? undefined : Array.isArray(v) ? v : [v]
}
const check = (args: unknown, h: Record<string, string | string[]>) => checkParamHeaders(declared, args, headersOf(h))

describe('era: Mcp-Param headers (SEP-2243)', () => {
  it('finds the arguments a schema mirrors, through properties only', () => {
    assert.deepEqual(
      declared.map((d) => [d.path.join('.'), d.name, d.type]),
      [
        ['region', 'Region', 'string'],
        ['count', 'Count', 'integer'],
        ['dry', 'Dry-Run', 'boolean'],
        ['nested.zone', 'Zone', 'string'],
      ],
    )
    assert.deepEqual(paramHeadersOf({type: 'object', properties: {a: {type: 'string'}}}), [])
    assert.deepEqual(paramHeadersOf({type: 'object', items: {type: 'string', 'x-mcp-header': 'X'}, 'x-mcp-header': 'Root'}), [], 'the root and what is not under properties do not declare')
    assert.deepEqual(paramHeadersOf(undefined), [])
  })

  it('serves a call whose headers agree with its arguments, plainly or Base64-encoded, numbers numerically', () => {
    assert.equal(check({region: 'eu', count: 42, dry: true, nested: {zone: 'a'}}, {'mcp-param-region': 'eu', 'mcp-param-count': '42.0', 'mcp-param-dry-run': 'true', 'mcp-param-zone': 'a'}), undefined)
    assert.equal(check({region: 'Zürich'}, {'mcp-param-region': `=?base64?${Buffer.from('Zürich').toString('base64')}?=`}), undefined)
    assert.equal(check({region: ' eu '}, {'mcp-param-region': `=?base64?${Buffer.from(' eu ').toString('base64')}?=`}), undefined)
  })

  it('expects no header for an argument absent, null, or not a primitive, and ignores one sent anyway', () => {
    assert.equal(check({}, {}), undefined)
    assert.equal(check({region: null, nested: {zone: {deep: 1}}}, {'mcp-param-region': 'whatever'}), undefined)
    assert.equal(check(undefined, {}), undefined)
  })

  it('refuses a missing, repeated, undecodable or disagreeing header with HEADER_MISMATCH (400), naming the header, never a value', () => {
    for (const [args, h, reason] of [
      [{region: 'eu'}, {}, 'param_header_missing'],
      [{nested: {zone: 'a'}}, {}, 'param_header_missing'],
      [{region: 'eu'}, {'mcp-param-region': ['eu', 'eu']}, 'param_header_repeated'],
      [{region: 'eu'}, {'mcp-param-region': '=?base64?***?='}, 'param_header_encoding'],
      [{region: 'eu-secret'}, {'mcp-param-region': 'us-secret'}, 'param_header_mismatch'],
      [{count: 42}, {'mcp-param-count': '43'}, 'param_header_mismatch'],
      [{dry: false}, {'mcp-param-dry-run': 'true'}, 'param_header_mismatch'],
    ] as const) {
      const refusal = check(args, h as Record<string, string | string[]>)
      assert.equal(refusal?.reason, reason, JSON.stringify(args))
      assert.equal(refusal?.status, 400)
      assert.equal(refusal?.code, -32020)
      assert.doesNotMatch(JSON.stringify(refusal), /secret/)
    }
  })
})

describe('era: Mcp-Param headers, read as the SDK client sends them and as a proxy reads them (review1)', () => {
  const b64 = (s: string) => `=?base64?${Buffer.from(s).toString('base64')}?=`

  it('expects no header for an integer past the safe range: the SDK client sends none for it', () => {
    assert.equal(check({count: 2 ** 53}, {}), undefined)
    assert.equal(check({count: 2 ** 53 - 1}, {})?.reason, 'param_header_missing')
  })

  it('refuses a header value that is not visible ASCII: Node reads its bytes as Latin-1, a proxy as bytes', () => {
    // 'Z\xFCrich' is what Node hands over for the bytes 5A FC 72 69 63 68: equal to the body's 'Zürich' as text.
    assert.equal(check({region: 'Zürich'}, {'mcp-param-region': 'Z\xFCrich'})?.reason, 'param_header_encoding')
    assert.equal(check({region: 'Zürich'}, {'mcp-param-region': b64('Zürich')}), undefined)
  })

  it('keeps a leading U+FEFF as part of the value, as the client encoded it', () => {
    assert.equal(check({region: '\uFEFFeu'}, {'mcp-param-region': b64('\uFEFFeu')}), undefined, 'the SDK client sends this for \\uFEFFeu')
    assert.equal(check({region: 'eu'}, {'mcp-param-region': b64('\uFEFFeu')})?.reason, 'param_header_mismatch')
  })

  it('refuses `=?base64?=`, which the SDK decodes as an empty payload and keyward read as text', () => {
    assert.equal(check({region: '=?base64?='}, {'mcp-param-region': '=?base64?='})?.reason, 'param_header_encoding')
    assert.equal(check({region: ''}, {'mcp-param-region': '=?base64?='})?.reason, 'param_header_encoding')
    // What the SDK client sends for each.
    assert.equal(check({region: '=?base64?='}, {'mcp-param-region': b64('=?base64?=')}), undefined)
    assert.equal(check({region: ''}, {'mcp-param-region': '=?base64??='}), undefined)
  })

  it('walks `properties` and arguments as the SDK client does when it mirrors: arrays too', () => {
    const odd = {type: 'object', properties: {loc: {type: 'object', properties: [{type: 'string', 'x-mcp-header': 'Zone'}]}}}
    const found = paramHeadersOf(odd)
    assert.deepEqual(found.map((d) => [d.path.join('.'), d.name]), [['loc.0', 'Zone']])
    // The SDK client mirrors arguments.loc[0] into Mcp-Param-Zone: a header that disagrees must not pass unchecked.
    assert.equal(checkParamHeaders(found, {loc: {0: 'eu'}}, headersOf({'mcp-param-zone': 'us'}))?.reason, 'param_header_mismatch')
    assert.equal(checkParamHeaders(found, {loc: ['eu']}, headersOf({'mcp-param-zone': 'us'}))?.reason, 'param_header_mismatch')
    assert.equal(checkParamHeaders(found, {loc: ['eu']}, headersOf({'mcp-param-zone': 'eu'})), undefined)
  })
})

/** Whether the SDK's 2026-07-28 HTTP client keeps a tool of this input schema: its own check (listing.ts calls it on a page). */
function sdkKeeps(inputSchema: unknown): boolean {
  const page = {tools: [{name: 't', inputSchema}]}
  const exclude = (Client.prototype as unknown as {_excludeInvalidXMcpHeaderTools(this: unknown, page: unknown): void})._excludeInvalidXMcpHeaderTools
  const warn = console.warn
  console.warn = () => {}
  try {
    exclude.call({getProtocolEra: () => 'modern', transport: {}}, page)
  } finally {
    console.warn = warn
  }
  return page.tools.length === 1
}

const obj = (properties: Record<string, unknown>, more: Record<string, unknown> = {}) => ({type: 'object', properties, ...more})
const h = (name: unknown, type = 'string') => ({type, 'x-mcp-header': name})

/** Schemas whose declarations are valid, and not: each judged by keyward as the SDK's client judges it. */
const CORPUS: [string, unknown, boolean][] = [
  ['no declaration', obj({a: {type: 'string'}}), true],
  ['none at all', undefined, true],
  ['string, integer and boolean', obj({a: h('A'), b: h('B', 'integer'), c: h('C', 'boolean')}), true],
  ['nested through properties', obj({o: obj({z: h('Zone')})}), true],
  ['every token character', obj({a: h("!#$%&'*+-.^_`|~09az")}), true],
  ['a declaration in data (a default) is data', obj({a: {type: 'string', default: {'x-mcp-header': 'Not A Token'}}}), true],
  ['on a number', obj({a: h('A', 'number')}), false],
  ['on an object', obj({a: {type: 'object', 'x-mcp-header': 'A'}}), false],
  ['without a type', obj({a: {'x-mcp-header': 'A'}}), false],
  ['a name with a space', obj({a: h('Bad Name')}), false],
  ['a name with a line break', obj({a: h('A\r\nX-Forged: 1')}), false],
  ['an empty name', obj({a: h('')}), false],
  ['a name that is not a string', obj({a: h(7)}), false],
  ['a name declared twice, but for case', obj({a: h('Region'), b: h('region')}), false],
  ['on the root', {type: 'object', 'x-mcp-header': 'Root'}, false],
  ['under items', obj({list: {type: 'array', items: h('Item')}}), false],
  ['under anyOf', obj({a: {anyOf: [h('A'), {type: 'integer'}]}}), false],
  ['under additionalProperties', obj({}, {additionalProperties: h('Extra')}), false],
  ['under $defs', obj({}, {$defs: {thing: h('Thing')}}), false],
  ['under properties under items', obj({list: {type: 'array', items: obj({x: h('X')})}}), false],
]

describe('era: which x-mcp-header declarations are valid (SEP-2243), and a tool without them', () => {
  for (const [what, schema, valid] of CORPUS) {
    it(`${what}: ${valid ? 'valid' : 'not valid'}, as the SDK's client judges it`, () => {
      assert.equal(sdkKeeps(schema), valid, 'the corpus against the SDK')
      const fault = invalidDeclaration(schema)
      assert.equal(fault === undefined, valid, fault)
      // keyward's words, never the upstream's text
      if (fault) assert.doesNotMatch(fault, /Bad Name|Forged|Region|Item|Thing|Extra/)
    })
  }

  it('a copy without the declarations is valid, keeps everything else (data that holds the key too), and leaves the original as it was', () => {
    const schema = obj({a: h('A', 'number'), b: {type: 'string', default: {'x-mcp-header': 'kept'}}, list: {type: 'array', items: h('Item')}})
    const before = JSON.stringify(schema)
    const stripped = withoutDeclarations(schema)
    assert.equal(JSON.stringify(schema), before)
    assert.equal(invalidDeclaration(stripped), undefined)
    assert.ok(sdkKeeps(stripped))
    assert.deepEqual(stripped, obj({a: {type: 'number'}, b: {type: 'string', default: {'x-mcp-header': 'kept'}}, list: {type: 'array', items: {type: 'string'}}}))
  })

  it('a `__proto__` key in a schema stays a field of the copy, never its prototype', () => {
    const schema = JSON.parse('{"type":"object","properties":{"__proto__":{"type":"number","x-mcp-header":"P"}}}') as unknown
    const stripped = withoutDeclarations(schema) as {properties: Record<string, unknown>}
    assert.equal(Object.getPrototypeOf(stripped.properties), Object.prototype)
    assert.deepEqual(Object.getOwnPropertyDescriptor(stripped.properties, '__proto__')?.value, {type: 'number'})
  })
})
