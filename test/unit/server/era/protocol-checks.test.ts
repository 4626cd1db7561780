/**
 * The 2026-07-28 checks keyward makes itself (src/server/era/): per-request `_meta`, the
 * standard headers against the body, the era of an HTTP request and of a stdio connection,
 * and the cache hints on what keyward answers. The expected codes and messages are the ones
 * the SDK v2 (2.4) answers on the wire for the same input.
 */
import assert from 'node:assert/strict'

import {cacheHintFor, isCacheable, withCacheHint} from '../../../../src/server/era/cache-hints.js'
import {eraOfHttpRequest, StdioEra} from '../../../../src/server/era/detect.js'
import {checkStandardHeaders, decodeHeaderValue} from '../../../../src/server/era/headers.js'
import {missingCapability, validateRequestMeta} from '../../../../src/server/era/request-meta.js'

const V = '2026-07-28'
const meta = (extra: Record<string, unknown> = {}) => ({'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': {}, ...extra})
const call = (name: string, extra?: Record<string, unknown>) => ({jsonrpc: '2.0', id: 1, method: 'tools/call', params: {name, arguments: {}, _meta: meta(extra)}})

describe('era: per-request _meta', () => {
  it('accepts a complete _meta and returns what it says', () => {
    const r = validateRequestMeta({_meta: meta({'io.modelcontextprotocol/clientInfo': {name: 'c', version: '1'}, 'io.modelcontextprotocol/logLevel': 'info', progressToken: 7})})
    assert.ok(r.ok)
    assert.deepEqual(r.meta, {protocolVersion: V, clientCapabilities: {}, clientInfo: {name: 'c', version: '1'}, logLevel: 'info', progressToken: 7})
  })

  it('requires the protocol version and the client capabilities, not the client info', () => {
    assert.ok(validateRequestMeta({_meta: meta()}).ok)
    for (const [params, key] of [
      [{}, '_meta'],
      [{_meta: []}, '_meta'],
      [{_meta: {'io.modelcontextprotocol/clientCapabilities': {}}}, 'io.modelcontextprotocol/protocolVersion'],
      [{_meta: {'io.modelcontextprotocol/protocolVersion': V}}, 'io.modelcontextprotocol/clientCapabilities'],
      [{_meta: meta({'io.modelcontextprotocol/clientCapabilities': 'all'})}, 'io.modelcontextprotocol/clientCapabilities'],
      [{_meta: meta({'io.modelcontextprotocol/clientInfo': {name: 'c'}})}, 'io.modelcontextprotocol/clientInfo'],
      [{_meta: meta({'io.modelcontextprotocol/logLevel': 'loud'})}, 'io.modelcontextprotocol/logLevel'],
      [{_meta: meta({progressToken: {}})}, 'progressToken'],
    ] as const) {
      const r = validateRequestMeta(params)
      assert.ok(!r.ok, JSON.stringify(params))
      assert.equal(r.refusal.code, -32602)
      assert.equal(r.refusal.status, 400)
      assert.equal((r.refusal.data as {envelope: {key: string}}).envelope.key, key)
    }
  })

  it('answers a version it does not serve with -32022 naming the ones it does', () => {
    const r = validateRequestMeta({_meta: meta({'io.modelcontextprotocol/protocolVersion': '2099-01-01'})})
    assert.ok(!r.ok)
    assert.deepEqual([r.refusal.status, r.refusal.code, r.refusal.message, r.refusal.data], [400, -32022, 'Unsupported protocol version: 2099-01-01', {supported: [V], requested: '2099-01-01'}])
    // a 2025 version inside _meta is not a way into the modern era either
    assert.equal((validateRequestMeta({_meta: meta({'io.modelcontextprotocol/protocolVersion': '2025-11-25'})}) as {refusal: {code: number}}).refusal.code, -32022)
  })

  it('answers an input request the caller cannot serve with -32021 naming the capability', () => {
    const ok = validateRequestMeta({_meta: meta({'io.modelcontextprotocol/clientCapabilities': {elicitation: {}, sampling: {}}})})
    assert.ok(ok.ok)
    const elicit = {method: 'elicitation/create', params: {message: 'Name?', requestedSchema: {type: 'object', properties: {}}}}
    assert.equal(missingCapability(ok.meta, {q: elicit, s: {method: 'sampling/createMessage'}}), undefined)
    const r = missingCapability(ok.meta, {r: {method: 'roots/list'}})
    assert.deepEqual([r?.status, r?.code, r?.data], [400, -32021, {requiredCapabilities: {roots: {}}}])
    assert.deepEqual(missingCapability(ok.meta, {u: {method: 'elicitation/create', params: {mode: 'url', url: 'https://x', message: 'm'}}})?.data, {requiredCapabilities: {elicitation: {url: {}}}})
    const none = validateRequestMeta({_meta: meta()})
    assert.ok(none.ok)
    assert.deepEqual(missingCapability(none.meta, {q: elicit})?.data, {requiredCapabilities: {elicitation: {form: {}}}})
  })
})

describe('era: standard headers against the body', () => {
  const headers = (name?: string) => ({protocolVersion: V, method: 'tools/call', name})

  it('lets matching headers through, with optional whitespace and a Base64 name', () => {
    assert.equal(checkStandardHeaders(headers('get_weather'), call('get_weather')), undefined)
    assert.equal(checkStandardHeaders({protocolVersion: ` ${V}\t`, method: 'tools/call ', name: ' get_weather'}, call('get_weather')), undefined)
    const encoded = `=?base64?${Buffer.from('météo ☀').toString('base64')}?=`
    assert.equal(checkStandardHeaders(headers(encoded), call('météo ☀')), undefined)
    assert.equal(checkStandardHeaders({protocolVersion: V, method: 'tools/list'}, {method: 'tools/list', params: {_meta: meta()}}), undefined)
    assert.equal(checkStandardHeaders({protocolVersion: V, method: 'resources/read', name: 'file:///a'}, {method: 'resources/read', params: {uri: 'file:///a', _meta: meta()}}), undefined)
  })

  it('refuses each disagreement with 400 and -32020, naming the header', () => {
    const cases: [ReturnType<typeof headers> | Record<string, string | undefined>, object, string][] = [
      [{method: 'tools/call', name: 'a'}, call('a'), 'version_header_missing'],
      [{protocolVersion: '2025-11-25', method: 'tools/call', name: 'a'}, call('a'), 'version_header_mismatch'],
      [{protocolVersion: V, name: 'a'}, call('a'), 'method_header_missing'],
      [{protocolVersion: V, method: 'tools/list', name: 'a'}, call('a'), 'method_header_mismatch'],
      [{protocolVersion: V, method: 'tools/call'}, call('a'), 'name_header_missing'],
      [headers('b'), call('a'), 'name_header_mismatch'],
      [headers('=?base64?not base64!?='), call('a'), 'name_header_encoding'],
      [headers('=?base64?/w==?='), call('a'), 'name_header_encoding'],
      // The bytes of `météo` in Latin-1, unencoded: Node reads them as the name, a proxy as other bytes.
      [headers('m\xe9t\xe9o'), call('météo'), 'name_header_encoding'],
      [{protocolVersion: V, method: 'prompts/get', name: 'p'}, {method: 'prompts/get', params: {name: 'q', _meta: meta()}}, 'name_header_mismatch'],
      [{protocolVersion: V, method: 'resources/read', name: 'file:///a'}, {method: 'resources/read', params: {uri: 'file:///etc/passwd', _meta: meta()}}, 'name_header_mismatch'],
    ]
    for (const [h, message, reason] of cases) {
      const r = checkStandardHeaders(h, message as {method: string})
      assert.deepEqual([r?.status, r?.code, r?.reason], [400, -32020, reason], `${reason}: ${JSON.stringify(h)}`)
      assert.match(r!.message, /^Bad Request: the request headers and body disagree: /)
    }
  })

  it('decodes the Base64 sentinel only when it is canonical UTF-8', () => {
    assert.equal(decodeHeaderValue('plain'), 'plain')
    assert.equal(decodeHeaderValue(`=?base64?${Buffer.from('x y').toString('base64')}?=`), 'x y')
    assert.equal(decodeHeaderValue('=?base64?eA?='), undefined)
    assert.equal(decodeHeaderValue('=?base64?gA==?='), undefined)
  })
})

describe('era: detection', () => {
  it('takes the era of an HTTP request from its body, never from a header alone', () => {
    assert.deepEqual(eraOfHttpRequest('POST', V, call('a')), {era: 'modern'})
    assert.deepEqual(eraOfHttpRequest('POST', undefined, call('a')), {era: 'modern'})
    assert.deepEqual(eraOfHttpRequest('POST', '2025-11-25', {jsonrpc: '2.0', id: 1, method: 'tools/list'}), {era: 'legacy'})
    assert.deepEqual(eraOfHttpRequest('POST', undefined, {jsonrpc: '2.0', id: 0, method: 'initialize', params: {protocolVersion: '2025-11-25'}}), {era: 'legacy'})
    assert.deepEqual(eraOfHttpRequest('GET', V, undefined), {era: 'legacy'})
    assert.deepEqual(eraOfHttpRequest('DELETE', undefined, undefined), {era: 'legacy'})
    // an unknown version in _meta is still a modern request: the modern path answers -32022
    assert.deepEqual(eraOfHttpRequest('POST', '2099-01-01', call('a', {'io.modelcontextprotocol/protocolVersion': '2099-01-01'})), {era: 'modern'})
    const r = eraOfHttpRequest('POST', V, {jsonrpc: '2.0', id: 4, method: 'tools/list', params: {}})
    assert.deepEqual([r.refusal?.status, r.refusal?.code, r.refusal?.reason], [400, -32602, 'modern_header_without_meta'])
  })

  it('pins a stdio connection by its opening exchange; a discover probe pins nothing', () => {
    const legacy = new StdioEra()
    assert.deepEqual(legacy.observe({jsonrpc: '2.0', id: 'p', method: 'server/discover', params: {_meta: meta()}}), {era: 'modern'})
    assert.equal(legacy.era, undefined)
    assert.deepEqual(legacy.observe({jsonrpc: '2.0', id: 0, method: 'initialize', params: {}}), {era: 'legacy'})
    assert.deepEqual(legacy.observe(call('a')), {era: 'legacy'})
    assert.equal(legacy.era, 'legacy')

    const modern = new StdioEra()
    assert.deepEqual(modern.observe({jsonrpc: '2.0', id: 'p', method: 'server/discover', params: {_meta: meta()}}), {era: 'modern'})
    assert.deepEqual(modern.observe({jsonrpc: '2.0', method: 'notifications/cancelled', params: {requestId: 'x', _meta: meta()}}), {era: 'modern'})
    assert.equal(modern.era, undefined, 'a modern notification after a probe pins nothing (the SDK stays in its probe)')
    assert.deepEqual(modern.observe(call('a')), {era: 'modern'})
    assert.equal(modern.era, 'modern')
    const r = modern.observe({jsonrpc: '2.0', id: 9, method: 'initialize', params: {}})
    assert.deepEqual([r.refusal?.code, r.refusal?.data], [-32022, {supported: [V]}])
    assert.deepEqual(modern.observe({jsonrpc: '2.0', id: 10, method: 'tools/list', params: {}}), {era: 'modern'})
  })
})

describe('era: a stdio connection decided as the SDK decides it', () => {
  // serveStdio pins the connection at its first message, a notification too: keyward must serve,
  // check and audit each message in the era of the SDK instance that then serves it.
  it('a notification first: without a modern _meta it pins the legacy era, with a valid one the modern era', () => {
    const legacy = new StdioEra()
    assert.deepEqual(legacy.observe({jsonrpc: '2.0', method: 'notifications/initialized'}), {era: 'legacy'})
    assert.equal(legacy.era, 'legacy')
    assert.deepEqual(legacy.observe(call('a')), {era: 'legacy'}, 'a modern request on a connection the SDK pinned to 2025')

    const modern = new StdioEra()
    assert.deepEqual(modern.observe({jsonrpc: '2.0', method: 'notifications/initialized', params: {_meta: meta()}}), {era: 'modern'})
    assert.equal(modern.era, 'modern')
    assert.equal(modern.observe({jsonrpc: '2.0', id: 1, method: 'initialize', params: {}}).refusal?.reason, 'initialize_after_modern')
  })

  it('a message whose modern envelope is refused pins nothing', () => {
    const era = new StdioEra()
    assert.deepEqual(era.observe({jsonrpc: '2.0', id: 1, method: 'tools/list', params: {_meta: {'io.modelcontextprotocol/protocolVersion': '2099-01-01'}}}), {era: 'modern'})
    assert.deepEqual(era.observe({jsonrpc: '2.0', method: 'notifications/x', params: {_meta: {'io.modelcontextprotocol/protocolVersion': V}}}), {era: 'modern'})
    assert.equal(era.era, undefined)
    assert.deepEqual(era.observe({jsonrpc: '2.0', id: 2, method: 'initialize', params: {}}), {era: 'legacy'})
  })
})

describe('era: cache hints', () => {
  it('marks every answer private to the caller, whatever an upstream said', () => {
    for (const method of ['server/discover', 'tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read'] as const) {
      assert.ok(isCacheable(method))
      assert.deepEqual(cacheHintFor(method), {ttlMs: 0, cacheScope: 'private'})
    }
    assert.ok(!isCacheable('tools/call'))
    const fromUpstream = {tools: [], ttlMs: 3_600_000, cacheScope: 'public'}
    assert.deepEqual(withCacheHint('tools/list', fromUpstream, 30_000), {tools: [], ttlMs: 30_000, cacheScope: 'private'})
  })

  it('never keeps a read longer than its upstream allows, nor longer than keyward does', () => {
    assert.deepEqual(cacheHintFor('resources/read', {ttlMs: 1000, cacheScope: 'public'}, 30_000), {ttlMs: 1000, cacheScope: 'private'})
    assert.deepEqual(cacheHintFor('resources/read', {ttlMs: 90_000}, 30_000), {ttlMs: 30_000, cacheScope: 'private'})
    assert.deepEqual(cacheHintFor('resources/read', {ttlMs: -5}, 30_000), {ttlMs: 30_000, cacheScope: 'private'})
  })
})
