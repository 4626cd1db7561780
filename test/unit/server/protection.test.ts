/**
 * The Protect stages and their parts on their own (issue 11): the redactor, the guard patterns,
 * client addresses, the rate limits and the audit chain, without a server or a terminal.
 */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {promises as fs} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {AuditLog, sealRecord, verifyAudit} from '../../../src/audit/index.js'
import {GENESIS, openRecord} from '../../../src/audit/record.js'
import {ANONYMOUS, type Principal} from '../../../src/auth/index.js'
import {findPattern, guardPatterns} from '../../../src/guard/patterns.js'
import {Redactor} from '../../../src/guard/redactor.js'
import {AddressList, peerKey} from '../../../src/net/addresses.js'
import {ScopeSet} from '../../../src/policy/index.js'
import {RateLimits} from '../../../src/ratelimit/limits.js'
import type {MessageContext, RequestContext} from '../../../src/server/context.js'
import {messageContext, parsedMessage} from '../../../src/server/context.js'
import {Refusal, RPC} from '../../../src/server/refusal.js'
import {auditRequests} from '../../../src/server/stages/audit-requests.js'
import {guardAddresses} from '../../../src/server/stages/guard-addresses.js'
import {limitRates} from '../../../src/server/stages/rate-limit.js'
import {throttleAuthFailures} from '../../../src/server/stages/throttle-auth-failures.js'
import {sleep} from '../../helpers/cli.js'
import {testRuntime} from '../../helpers/runtime.js'

function httpContextWith(over: Partial<RequestContext> = {}): RequestContext {
  return {transport: 'http', runtime: testRuntime(), method: 'POST', path: '/mcp', query: '', peer: '127.0.0.1', headers: {}, presented: () => undefined, readBody: async () => Buffer.from('{}'), responseHeaders: {}, startedAt: Date.now(), ...over}
}


const httpContext = httpContextWith

/** Runs a stage as a promise: a stage may refuse by throwing before it returns one. */
const attempt = (run: () => unknown): Promise<unknown> => Promise.resolve().then(run)

const alice: Principal = {id: 'key:alice', authType: 'api_key', name: 'alice', keyId: 'alice', scopes: new ScopeSet(['*'])}

describe('protect units', function () {
  this.timeout(30_000)

  describe('redactor', () => {
    it('replaces every secret of 8+ characters, leftmost then longest, and leaves shorter ones and other text alone', () => {
      const r = new Redactor([
        ['SHORT', 'abc1234'],
        ['PW', 'hunter2hunter2'],
        ['PW_LONG', 'hunter2hunter2-and-more'],
        ['TAIL', 'and-more-tail'],
      ])
      const found = new Set<string>()
      assert.equal(r.text('a hunter2hunter2-and-more-tail b abc1234 c hunter2hunter2', found), 'a [REDACTED:PW_LONG]-tail b abc1234 c [REDACTED:PW]')
      assert.deepEqual([...found].sort(), ['PW', 'PW_LONG'])
      assert.equal(r.text('nothing here'), 'nothing here')
      assert.equal(r.text('hunter2hunter2'), '[REDACTED:PW]', 'a secret that is the whole text')
    })

    it('finds any of 10,000 secrets with one matcher, at the edges of the text too', () => {
      const secrets: [string, string][] = []
      for (let i = 0; i < 10_000; i++) secrets.push([`S${i}`, randomBytes(12).toString('base64url')])
      const r = new Redactor(secrets)
      assert.equal(r.size, 10_000)
      const [first, mid, last] = [secrets[0][1], secrets[5000][1], secrets[9999][1]]
      assert.equal(r.text(`${first}x${mid}${last}`), '[REDACTED:S0]x[REDACTED:S5000][REDACTED:S9999]')
      const filler = randomBytes(50_000).toString('hex')
      assert.equal(r.text(filler), filler)
    })

    it('redacts known token formats: keyward keys, GitHub, AWS, Slack, private key blocks', () => {
      const r = new Redactor([])
      const cases: [string, string][] = [
        [`kw_abcdefghijkl_${'x'.repeat(39)}`, 'api-key'],
        [`ghp_${'a'.repeat(36)}`, 'github-token'],
        [`github_pat_${'B'.repeat(30)}`, 'github-token'],
        ['AKIAABCDEFGHIJKLMNOP', 'aws-access-key'],
        ['xoxb-1234567890-abcdef', 'slack-token'],
        ['-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n-----END OPENSSH PRIVATE KEY-----', 'private-key'],
      ]
      for (const [token, name] of cases) assert.equal(r.text(`before ${token} after`), `before [REDACTED:${name}] after`, name)
      assert.equal(Redactor.none.text(`ghp_${'a'.repeat(36)}`), `ghp_${'a'.repeat(36)}`)
    })

    it('walks results: every string, keys kept, base64 payloads read as text and as the bytes they encode, the same object back when nothing matched', () => {
      const r = new Redactor([['TOKEN', 'tok-12345678']])
      const clean = {content: [{type: 'text', text: 'fine'}]}
      assert.equal(r.value(clean), clean)
      const result = {
        content: [
          {type: 'text', text: 'tok-12345678'},
          {type: 'image', data: 'tok-12345678', mimeType: 'image/png'},
          {type: 'resource', resource: {uri: 'x://y', text: 'a tok-12345678', blob: 'tok-12345678'}},
        ],
        structuredContent: {nested: [{deep: 'tok-12345678'}], config: {blob: 'tok-12345678'}, shown: {type: 'image', data: 'tok-12345678'}},
      }
      const out = r.value(result)
      assert.deepEqual(out, {
        content: [
          {type: 'text', text: '[REDACTED:TOKEN]'},
          // Not standard base64 (a '-'): written again as the bytes Node read, in the standard alphabet; the secret is not in them.
          {type: 'image', data: 'tok+12345678', mimeType: 'image/png'},
          {type: 'resource', resource: {uri: 'x://y', text: 'a [REDACTED:TOKEN]', blob: 'tok+12345678'}},
        ],
        // Base64 is left alone only where MCP puts it: a `blob` or an image's `data` anywhere else is text.
        structuredContent: {nested: [{deep: '[REDACTED:TOKEN]'}], config: {blob: '[REDACTED:TOKEN]'}, shown: {type: 'image', data: '[REDACTED:TOKEN]'}},
      })
      assert.equal(result.content[0].text, 'tok-12345678', 'the original is not changed')
    })

    it('a secret in the bytes a blob or an image encodes is redacted in those bytes, at any of the three offsets base64 may put it; base64 without one comes back as it was', () => {
      const r = new Redactor(new Map([['TOKEN', 'tok-12345678'], ['PASS', 'pässwörd-ünïcode']]))
      for (const lead of ['', 'a', 'ab', 'abc']) {
        const blob = Buffer.from(`${lead}API_TOKEN=tok-12345678\nP=pässwörd-ünïcode\n`).toString('base64')
        const found = new Set<string>()
        const out = r.value({contents: [{uri: 'file:///.env', mimeType: 'application/octet-stream', blob}]}, found)
        assert.equal(Buffer.from(out.contents[0].blob, 'base64').toString('utf8'), `${lead}API_TOKEN=[REDACTED:TOKEN]\nP=[REDACTED:PASS]\n`, `lead ${lead.length}`)
        assert.deepEqual([...found].sort(), ['PASS', 'TOKEN'])
      }
      const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...Array.from({length: 300}, (_, i) => (i * 37) % 256)]).toString('base64')
      const image = {content: [{type: 'image', data: png, mimeType: 'image/png'}]}
      assert.equal(r.value(image), image, 'nothing found: the same object back')
      const wrapped = `${Buffer.from('no secret here, only text').toString('base64')}\n`
      assert.equal(r.value({contents: [{uri: 'x://y', blob: wrapped}]}).contents[0].blob, wrapped, 'as it came, not re-encoded')
    })

    it('base64 is read as decoders read it: wrapped at any width, a secret written in it as text, one secret inside another, an upstream\'s input requests and tool results in sampling messages (review)', () => {
      const inner = 'sk_live_1234567890'
      const outer = `prefix-${inner}-suffix-XYZ`
      const r = new Redactor(new Map([['INNER', inner], ['OUTER', outer]]))
      const env = `A=${outer}\nB=${inner}\n`
      const decoded = (blob: string) => Buffer.from(blob, 'base64').toString('utf8')
      for (const width of [4, 20, 76]) {
        const b64 = Buffer.from(env).toString('base64').replace(new RegExp(`(.{${width}})`, 'g'), '$1\n')
        assert.equal(decoded(r.value({contents: [{uri: 'x', blob: b64}]}).contents[0].blob), 'A=[REDACTED:OUTER]\nB=[REDACTED:INNER]\n', `wrapped at ${width}`)
      }
      // A secret written plainly: gone, whether its characters are base64's or not.
      for (const plain of [`iVBOR${inner}`, 'iVBORabcd1234efghijkl']) {
        const got = new Redactor(new Map([['INNER', inner], ['ALPHA', 'abcd1234efghijkl']])).value({content: [{type: 'image', data: plain}]}).content[0].data
        assert.ok(!got.includes(inner) && !got.includes('abcd1234efghijkl'), got)
      }
      // One secret written plainly beside another encoded (review: the first hid the second).
      const both = `${Buffer.from(`X=${inner}`).toString('base64')}abcd1234efghijkl`
      const out = new Redactor(new Map([['INNER', inner], ['ALPHA', 'abcd1234efghijkl']])).value({contents: [{uri: 'x', blob: both}]}).contents[0].blob
      assert.ok(!out.includes('abcd1234efghijkl') && !Buffer.from(out, 'base64').toString('latin1').includes(inner), out)
      // Base64 that decoders read differently (Node takes - and _, Python skips them) is written again in the standard alphabet.
      const url = `-${Buffer.from(`X=${inner}`).toString('base64')}`
      const sent = r.value({contents: [{uri: 'x', blob: url}]}).contents[0].blob
      assert.match(sent, /^[A-Za-z0-9+/]*={0,2}$/)
      assert.ok(!Buffer.from(sent, 'base64').toString('latin1').includes(inner))
      // Token formats in the bytes, as in text.
      const ghp = `ghp_${'a'.repeat(36)}`
      assert.match(decoded(new Redactor([]).value({contents: [{uri: 'x', blob: Buffer.from(`TOKEN=${ghp}`).toString('base64')}]}).contents[0].blob), /TOKEN=\[REDACTED:github-token\]/)
      const image = (data: string) => ({type: 'image', data, mimeType: 'image/png'})
      const b64 = Buffer.from(`x${inner}`).toString('base64')
      const asked = r.value({resultType: 'input_required', inputRequests: {s: {method: 'sampling/createMessage', params: {messages: [{role: 'user', content: [image(b64), {type: 'tool_result', toolUseId: 't', content: [image(b64)]}]}]}}}})
      const content = asked.inputRequests.s.params.messages[0].content as unknown as [{data: string}, {content: [{data: string}]}]
      assert.equal(decoded(content[0].data), 'x[REDACTED:INNER]')
      assert.equal(decoded(content[1].content[0].data), 'x[REDACTED:INNER]')
    })

    it("base64 is read as the bytes it encodes only where MCP puts it: resources/read contents, a prompt's or sampling message's image, never an error's data or a notification's params", () => {
      const r = new Redactor(new Map([['TOKEN', 'tok-12345678']]))
      // Base64 of the secret is found where MCP puts base64, and only there (elsewhere it is text, and the text holds no secret).
      const B = Buffer.from('a tok-12345678').toString('base64')
      const RB = Buffer.from('a [REDACTED:TOKEN]').toString('base64')
      assert.deepEqual(r.value({contents: [{uri: 'x://y', blob: B}, {uri: 'x://z', text: 'tok-12345678'}]}), {contents: [{uri: 'x://y', blob: RB}, {uri: 'x://z', text: '[REDACTED:TOKEN]'}]})
      assert.deepEqual(r.value({messages: [{role: 'user', content: {type: 'audio', data: B, mimeType: 'audio/wav'}}]}), {messages: [{role: 'user', content: {type: 'audio', data: RB, mimeType: 'audio/wav'}}]})
      assert.deepEqual(r.value({structuredContent: {resource: {blob: B}}}), {structuredContent: {resource: {blob: B}}}, 'not a place of MCP base64: read as text')
      assert.deepEqual(r.value({code: -32000, message: 'm', data: {blob: 'tok-12345678', type: 'image', data: 'tok-12345678'}}), {code: -32000, message: 'm', data: {blob: '[REDACTED:TOKEN]', type: 'image', data: '[REDACTED:TOKEN]'}})
      assert.deepEqual(r.value({method: 'notifications/message', params: {level: 'info', data: {blob: 'tok-12345678'}}}), {method: 'notifications/message', params: {level: 'info', data: {blob: '[REDACTED:TOKEN]'}}})
      // A content block's `data` that is not a string is not base64: its strings are read.
      assert.deepEqual(r.value({content: [{type: 'image', data: {inner: 'tok-12345678'}}]}), {content: [{type: 'image', data: {inner: '[REDACTED:TOKEN]'}}]})
      // The place counts from the top: the same names deeper, or under another block, are text (review: each of these leaked).
      const S = 'tok-12345678'
      const R = '[REDACTED:TOKEN]'
      assert.deepEqual(r.value({structuredContent: {resource: {blob: S}, content: [{type: 'image', data: S}], contents: [{blob: S}]}}), {structuredContent: {resource: {blob: R}, content: [{type: 'image', data: R}], contents: [{blob: R}]}})
      assert.deepEqual(r.value({content: [{type: 'text', text: 'x', resource: {blob: S}}]}), {content: [{type: 'text', text: 'x', resource: {blob: R}}]})
      assert.deepEqual(r.value({method: 'notifications/message', params: {data: {resource: {blob: S}, content: [{type: 'image', data: S}]}}}), {method: 'notifications/message', params: {data: {resource: {blob: R}, content: [{type: 'image', data: R}]}}})
      // What is no message is text throughout: an error's data, arguments.
      assert.deepEqual(r.data({content: [{type: 'image', data: S}], contents: [{blob: S}]}), {content: [{type: 'image', data: R}], contents: [{blob: R}]})
      // A sampling request an upstream makes carries its images where MCP puts them.
      const sampling = (data: string) => ({method: 'sampling/createMessage', params: {messages: [{role: 'user', content: [{type: 'image', data, mimeType: 'image/png'}]}]}})
      assert.deepEqual(r.value(sampling(B)), sampling(RB))
    })
  })

  describe('guard patterns', () => {
    it('each seed pattern matches in any string, keys included, at any depth; none and custom patterns work', () => {
      const all = guardPatterns(['traversal', 'script', 'sql-union', 'eval'])
      assert.equal(findPattern({a: '..\\windows'}, all)?.name, 'traversal')
      assert.equal(findPattern({a: ['ok', {b: '< SCRIPT src=x>'}]}, all)?.name, 'script')
      assert.equal(findPattern({'1 union select 2': 'x'}, all)?.name, 'sql-union')
      assert.equal(findPattern({a: {b: {c: 'EVAL (x)'}}}, all)?.name, 'eval')
      assert.equal(findPattern({a: 'select a union of sets', b: 'evaluate(x)', c: '.. /'}, all), undefined)
      assert.equal(findPattern({a: '../x'}, guardPatterns(['none'])), undefined)
      assert.equal(findPattern({a: 'DROP TABLE x'}, guardPatterns(['/drop\\s+table/']))?.name, '/drop\\s+table/')
    })

    it('sql-union stays linear on input built to make a regular expression backtrack (1 MB of "union")', () => {
      const hostile = 'union '.repeat(180_000)
      assert.equal(findPattern({q: hostile}, guardPatterns(['sql-union'])), undefined)
      assert.equal(findPattern({q: `${hostile}select`}, guardPatterns(['sql-union']))?.name, 'sql-union')
    })

    it('arguments nested deeper than any real call are refused, not skipped', () => {
      let deep: unknown = 'fine'
      for (let i = 0; i < 100; i++) deep = [deep]
      assert.equal(findPattern(deep, guardPatterns(['traversal']))?.name, 'too-deep')
    })
  })

  describe('addresses', () => {
    it('deny wins over allow; IPv4-mapped IPv6 peers are matched as IPv4', async () => {
      const next = async () => {}
      const stage = guardAddresses()
      const runtime = testRuntime({'guard.allow-cidrs': '10.0.0.0/8,fd00::/8', 'guard.deny-cidrs': '10.6.6.0/24'})
      await stage(httpContext({runtime, peer: '10.1.2.3'}), next)
      await stage(httpContext({runtime, peer: '::ffff:10.1.2.3'}), next)
      await stage(httpContext({runtime, peer: 'fd00::1'}), next)
      for (const peer of ['10.6.6.6', '::ffff:10.6.6.6', '192.168.1.1', '::1', undefined]) {
        await assert.rejects(attempt(() => stage(httpContext({runtime, peer}), next)), (err: Refusal) => err.status === 403 && err.reason === 'address_denied')
      }
      assert.ok(new AddressList([{address: '::ffff:127.0.0.0', prefix: 104, family: 'ipv6'}]).has('127.9.9.9'))
    })

    it('counts an IPv6 client by its /64, an IPv4 client by its address', () => {
      assert.equal(peerKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64')
      assert.equal(peerKey('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64')
      assert.equal(peerKey('::ffff:192.0.2.7'), '192.0.2.7')
      assert.equal(peerKey('::1'), '0:0:0:0::/64')
    })
  })

  describe('rate limits', () => {
    it('allows exactly the limit per key and window, counts keys apart, and forgets a key when its window ends', async () => {
      const limits = new RateLimits()
      const rate = {limit: 3, windowSeconds: 1}
      const verdicts = []
      for (let i = 0; i < 4; i++) verdicts.push(await limits.consume('p', 'a', rate))
      assert.deepEqual(verdicts.map((v) => [v.allowed, v.remaining]), [[true, 2], [true, 1], [true, 0], [false, 0]])
      assert.ok(verdicts[3].resetMs > 0 && verdicts[3].resetMs <= 1000)
      assert.equal((await limits.consume('p', 'b', rate)).allowed, true, 'another key has its own count')
      assert.equal((await limits.peek('p', 'a', rate)).remaining, 0, 'peek does not count')
      await sleep(1100)
      assert.deepEqual(await limits.peek('p', 'a', rate), {policy: 'p', rate, remaining: 3, resetMs: 0})
    })

    it('a window longer than a timer holds (a key rate stored before windows were bounded) still counts: the memory store keeps it to 24 days', async () => {
      const limits = new RateLimits()
      const rate = {limit: 1, windowSeconds: 30 * 86_400}
      assert.equal((await limits.consume('p', 'a', rate)).allowed, true)
      await sleep(20) // Node fires a timer of more than 2^31-1 ms after 1 ms: the count was dropped
      const second = await limits.consume('p', 'a', rate)
      assert.equal(second.allowed, false)
      assert.ok(second.resetMs > 23 * 86_400_000 && second.resetMs <= 24 * 86_400_000, String(second.resetMs))
    })

    it('the message stage uses the key’s own rate over its auth type’s, and puts the RateLimit headers on the response', async () => {
      const limits = new RateLimits()
      const runtime = testRuntime({'ratelimit.api-key': '2/1min', 'ratelimit.anonymous': '1/1min'})
      const stage = limitRates(limits)
      const msg = (principal: Principal): MessageContext => messageContext(httpContext({runtime}), parsedMessage({jsonrpc: '2.0', id: 1, method: 'ping'}), principal)
      const own = {...alice, id: 'key:own', rate: {limit: 3, windowSeconds: 60}}
      for (let i = 0; i < 3; i++) await stage(msg(own), async () => {})
      await assert.rejects(attempt(() => stage(msg(own), async () => {})), (err: Refusal) => err.status === 429 && err.code === RPC.RATE_LIMITED && err.headers['retry-after'] !== undefined)
      const ctx = msg(alice)
      await stage(ctx, async () => {})
      assert.equal(ctx.request.responseHeaders['ratelimit-policy'], '"principal";q=2;w=60')
      assert.equal(ctx.request.responseHeaders.ratelimit, '"principal";r=1;t=60')
      await stage(msg(ANONYMOUS), async () => {})
      await assert.rejects(attempt(() => stage(msg(ANONYMOUS), async () => {})), /Too Many Requests/)
      // A response to the server's own request is not counted.
      await stage(messageContext(httpContext({runtime}), parsedMessage({jsonrpc: '2.0', id: 5, result: {}}), ANONYMOUS), async () => {})
    })

    it('the auth-failure throttle counts only failures, and never refuses a valid credential', async () => {
      const limits = new RateLimits()
      const runtime = testRuntime({'ratelimit.auth-failures': '2/1min'})
      const stage = throttleAuthFailures(limits)
      const httpContext = (over: Partial<RequestContext> = {}) => httpContextWith({runtime, ...over})
      const fail = async () => {
        throw Refusal.unauthenticated({reason: 'not_found', message: 'Unauthorized', status: 401})
      }
      const statuses: number[] = []
      for (let i = 0; i < 4; i++) statuses.push(await attempt(() => stage(httpContext(), fail)).then(() => 200, (e: Refusal) => e.status))
      assert.deepEqual(statuses, [401, 401, 429, 429])
      let passed = false
      await stage(httpContext(), async () => {
        passed = true
      })
      assert.ok(passed, 'a valid credential passes')
      await assert.rejects(attempt(() => stage(httpContext({peer: '10.0.0.9'}), fail)), (e: Refusal) => e.status === 401, 'another address has its own count')
      const other = async () => {
        throw Refusal.tooLarge('too large')
      }
      for (let i = 0; i < 3; i++) await assert.rejects(attempt(() => stage(httpContext({peer: '10.0.0.10'}), other)), (e: Refusal) => e.status === 413)
    })
  })

  describe('audit', () => {
    let dir: string
    beforeEach(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keyward-audit-'))
    })
    afterEach(() => fs.rm(dir, {recursive: true, force: true}))
    // The started-markers go to the test's own state directory, not the home of whoever runs the tests.
    const stateEnv = () => ({XDG_STATE_HOME: path.join(dir, 'state')})

    it('a sealed record opens only with its key and its exact bytes', () => {
      const key = randomBytes(32)
      const {line, head} = sealRecord(key, {seq: 0, mac: GENESIS}, {event: 'x', note: 'é'})
      assert.equal(head.seq, 1)
      const opened = openRecord(key, line)
      assert.ok(opened.ok && opened.record.prev === GENESIS && opened.record.note === 'é')
      assert.equal(openRecord(randomBytes(32), line).ok, false)
      assert.equal(openRecord(key, line.replace('"x"', '"y"')).ok, false)
      assert.equal(openRecord(key, line.replace('"note":"é"', '"note":"\\u00e9"')).ok, false, 'the same value, other bytes: not the record')
    })

    it('a queued record keeps the process alive until it is written: nothing is lost when the event loop empties', async () => {
      const file = path.join(dir, 'audit.jsonl')
      const writer = pathToFileURL(path.resolve(import.meta.dirname ?? path.dirname(fileURLToPath(import.meta.url)), '../../../src/audit/index.js')).href
      // A process whose only pending work is a batch waiting out its delay, then a top-level await on it:
      // with an unref'd batch timer, Node exits at once (code 13) and the records are gone.
      const script = `const {AuditLog} = await import(${JSON.stringify(writer)})
        const log = new AuditLog({file: ${JSON.stringify(file)}, key: Buffer.alloc(32, 7), maxSize: 1 << 20, batchMs: () => 200, env: {XDG_STATE_HOME: ${JSON.stringify(path.join(dir, 'state'))}}})
        await log.record({event: 'first'})
        await Promise.all([log.record({event: 'second'}), log.record({event: 'third'})])`
      const {spawnSync} = await import('node:child_process')
      // Under the unit runner the module is TypeScript: the child loads it through the same loader.
      const r = spawnSync(process.execPath, [...process.execArgv, '--input-type=module', '-e', script], {encoding: 'utf8'})
      assert.equal(r.status, 0, r.stderr)
      const events = (await fs.readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).event)
      assert.deepEqual(events, ['first', 'second', 'third'])
    })

    it('batches concurrent records into one chain that verifies, and the request stage records refusals and the session’s authentication', async () => {
      const key = randomBytes(32)
      const file = path.join(dir, 'audit.jsonl')
      const log = new AuditLog({file, key, maxSize: 1024 ** 2, env: stateEnv()})
      await Promise.all(Array.from({length: 500}, (_, i) => log.record({event: 'test', i})))
      const stage = auditRequests(log)
      await assert.rejects(attempt(() => stage(httpContext(), async () => {
          throw Refusal.rateLimited('slow down', {headers: {}, data: {policy: 'principal'}})
        })),
      )
      const init = httpContext({message: parsedMessage({jsonrpc: '2.0', id: 1, method: 'initialize', params: {}})})
      await stage(init, async () => {
        init.principal = alice
      })
      await log.close()
      const report = await verifyAudit(file, key, {env: stateEnv()})
      assert.ok(report.ok, report.problem?.message)
      assert.equal(report.records, 502)
      const lines = (await fs.readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l))
      assert.deepEqual(lines.slice(-2).map((r) => [r.event, r.reason ?? r.principal]), [
        ['ratelimit', 'rate_limited'],
        ['auth.success', 'key:alice'],
      ])
    })

    it('a head file deleted and a tail cut: the writer says so in the chain, and verify reports it', async () => {
      const key = randomBytes(32)
      const file = path.join(dir, 'audit.jsonl')
      let log = new AuditLog({file, key, maxSize: 1024 ** 2, env: stateEnv()})
      for (let i = 0; i < 3; i++) await log.record({event: 'test', i})
      const lines = (await fs.readFile(file, 'utf8')).trim().split('\n')
      await fs.writeFile(file, `${lines.slice(0, 2).join('\n')}\n`)
      await fs.rm(`${file}.head`)
      log = new AuditLog({file, key, maxSize: 1024 ** 2, env: stateEnv()})
      await log.record({event: 'test', i: 3})
      const report = await verifyAudit(file, key, {env: stateEnv()})
      assert.equal(report.problem?.kind, 'truncated')
      assert.match(report.problem!.message, /head file was missing/)
    })
  })
})
