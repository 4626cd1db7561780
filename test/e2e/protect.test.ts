/**
 * Protect (issue 11): rate limits, the input guard, secret redaction and the audit log, against
 * the built `keyward serve` with the SDK's real Client, over HTTP and stdio.
 */
import assert from 'node:assert/strict'
import {promises as fs, readFileSync, readdirSync} from 'node:fs'
import path from 'node:path'

import {LoggingMessageNotificationSchema} from '@modelcontextprotocol/sdk/types.js'

import {json, ROOT, Sandbox, sleep} from '../helpers/cli.js'
import {vaultAuditLog} from '../helpers/audit.js'
import {Bed} from '../helpers/bed.js'
import {bearer, INITIALIZE, post, stdioClient} from '../helpers/server.js'

const FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'upstream-server.js')
const SECRET = 'planted-Secret-7fQ2-value'
const GITHUB_TOKEN = `ghp_${'A1b2C3d4E5'.repeat(3)}abcdef`
const textOf = (r: unknown) => ((r as {content: {text: string}[]}).content[0]?.text ?? '')
const call = (id: number, name: string, args: Record<string, unknown> = {}) => ({jsonrpc: '2.0', id, method: 'tools/call', params: {name, arguments: args}})

type Record_ = {seq: number; event: string; [k: string]: unknown}

describe('protect', function () {
  this.timeout(120_000)
  const bed = new Bed()
  const {cli, key, serve, connect} = {
    cli: (args: string[], input?: string) => bed.cli(args, input),
    key: (name: string, ...flags: string[]) => bed.key(name, ...flags),
    serve: (args: string[] = []) => bed.serve(args),
    connect: (url: string, k: string) => bed.connect(url, k),
  }
  let box: Sandbox

  const auditFile = () => vaultAuditLog(box.vault, box.path('.local', 'state'))

  async function records(): Promise<Record_[]> {
    const text = await fs.readFile(auditFile(), 'utf8').catch(() => '')
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record_)
  }

  async function waitFor(predicate: (rs: Record_[]) => boolean, ms = 5000): Promise<Record_[]> {
    for (let t = 0; t < ms; t += 50) {
      const rs = await records()
      if (predicate(rs)) return rs
      await sleep(50)
    }
    return records()
  }

  beforeEach(async () => {
    await bed.setUp()
    box = bed.box
  })

  afterEach(() => bed.tearDown())

  describe('rate limits', () => {
    it('over HTTP: the limit holds at exactly the configured count, with 429, Retry-After and RateLimit headers; it recovers after the window; a key’s --rate wins', async () => {
      await cli(['config', 'set', 'ratelimit.api-key', '3/4s'])
      const own = await key('own-rate', '--rate', '5/4s')
      const plain = await key('default-rate')
      const s = await serve()
      const statuses = async (k: string, n: number) => {
        const out: number[] = []
        for (let i = 0; i < n; i++) out.push((await post(s.url, INITIALIZE, {'x-api-key': k})).status)
        return out
      }
      assert.deepEqual(await statuses(own, 6), [200, 200, 200, 200, 200, 429], 'the key’s own 5 per window')
      assert.deepEqual(await statuses(plain, 4), [200, 200, 200, 429], 'ratelimit.api-key: 3 per window')
      const refused = await post(s.url, INITIALIZE, {'x-api-key': plain})
      assert.equal(refused.status, 429)
      const retry = Number(refused.headers.get('retry-after'))
      assert.ok(retry >= 1 && retry <= 4, `Retry-After ${retry}`)
      assert.equal(refused.headers.get('ratelimit-policy'), '"principal";q=3;w=4')
      assert.match(refused.headers.get('ratelimit') ?? '', /^"principal";r=0;t=[1-4]$/)
      const body = JSON.parse(refused.text)
      assert.equal(body.error.code, -32029)
      assert.equal(body.error.data.retryAfterSeconds, retry)
      await sleep(retry * 1000 + 200)
      const again = await post(s.url, INITIALIZE, {'x-api-key': plain})
      assert.equal(again.status, 200, 'recovered after the window')
      assert.match(again.headers.get('ratelimit') ?? '', /^"principal";r=2;t=\d$/)
    })

    it('over stdio: the limit holds at exactly the count, answered with a JSON-RPC error whose data says when to retry, then recovers', async () => {
      const k = await key('stdio-rate', '--rate', '5/4s')
      const {client} = await stdioClient(box, {KEYWARD_API_KEY: k})
      bed.clients.push(client)
      // initialize and notifications/initialized were two; three calls remain.
      for (let i = 0; i < 3; i++) assert.match(textOf(await client.callTool({name: 'get_time', arguments: {}})), /\d{4}-/)
      const err = await client.callTool({name: 'get_time', arguments: {}}).then(
        () => assert.fail('the sixth message passed'),
        (e: {code: number; data: {retryAfterSeconds: number; reason: string}}) => e,
      )
      assert.equal(err.code, -32029)
      assert.equal(err.data.reason, 'rate_limited')
      assert.ok(err.data.retryAfterSeconds >= 1 && err.data.retryAfterSeconds <= 4)
      await sleep(err.data.retryAfterSeconds * 1000 + 200)
      assert.match(textOf(await client.callTool({name: 'get_time', arguments: {}})), /\d{4}-/)
    })

    it('per tool: ratelimit.tool.NAME counts that tool’s calls per principal, and debug_info shows the allowance left', async () => {
      await cli(['config', 'set', 'ratelimit.tool.echo', '2/1min'])
      const k = await key('tooly', '--rate', '100/1min')
      const s = await serve()
      const c = await connect(s.url, k)
      await c.callTool({name: 'echo', arguments: {message: 'one'}})
      await c.callTool({name: 'echo', arguments: {message: 'two'}})
      await assert.rejects(c.callTool({name: 'echo', arguments: {message: 'three'}}), /Too Many Requests: echo may be called 2 times per 60s/)
      const info = JSON.parse(textOf(await c.callTool({name: 'debug_info', arguments: {}})))
      assert.equal(info.rateLimit.limit, 100)
      assert.equal(info.rateLimit.windowSeconds, 60)
      // initialize, initialized, three echo calls and this one: 6 of 100.
      assert.equal(info.rateLimit.remaining, 94)
    })

    it('two keys with the same rate each get their own counter: exhausting one leaves the other untouched', async () => {
      await cli(['config', 'set', 'ratelimit.api-key', '3/1min'])
      const a = await key('same-rate-a')
      const b = await key('same-rate-b')
      const s = await serve()
      const status = async (k: string) => (await post(s.url, INITIALIZE, {'x-api-key': k})).status
      const first: number[] = []
      for (let i = 0; i < 4; i++) first.push(await status(a))
      assert.deepEqual(first, [200, 200, 200, 429])
      assert.equal(await status(b), 200, 'B has its own 3')
      const r = await post(s.url, INITIALIZE, {'x-api-key': b})
      assert.equal(r.status, 200)
      assert.match(r.headers.get('ratelimit') ?? '', /^"principal";r=1;/, 'B has used 2 of its own 3, not A’s')
    })

    it('a per-tool limit is counted per caller: key A exhausting ratelimit.tool.echo (--ratelimit-tool echo=2/1min) leaves key B its own', async () => {
      const a = await key('tool-a', '--rate', '100/1min')
      const b = await key('tool-b', '--rate', '100/1min')
      const s = await serve(['--ratelimit-tool', 'echo=2/1min'])
      const ca = await connect(s.url, a)
      for (const m of ['one', 'two']) assert.equal(textOf(await ca.callTool({name: 'echo', arguments: {message: m}})), m)
      await assert.rejects(ca.callTool({name: 'echo', arguments: {message: 'three'}}), /Too Many Requests: echo may be called 2 times per 60s/)
      const cb = await connect(s.url, b)
      assert.equal(textOf(await cb.callTool({name: 'echo', arguments: {message: 'b one'}})), 'b one')
      assert.equal(textOf(await cb.callTool({name: 'echo', arguments: {message: 'b two'}})), 'b two')
      await assert.rejects(cb.callTool({name: 'echo', arguments: {message: 'b three'}}), /Too Many Requests/)
    })

    it('brute force: failed keys from one address are throttled to 429, while a valid key from it still gets through', async () => {
      await cli(['config', 'set', 'ratelimit.auth-failures', '3/4s'])
      const good = await key('good')
      const s = await serve()
      const bad = `${good.slice(0, -6)}AAAAAA`
      const statuses: number[] = []
      for (let i = 0; i < 5; i++) statuses.push((await post(s.url, INITIALIZE, {'x-api-key': bad})).status)
      assert.deepEqual(statuses, [401, 401, 401, 429, 429])
      const throttled = await post(s.url, INITIALIZE, {'x-api-key': 'kw_nonsense'})
      assert.equal(throttled.status, 429)
      assert.ok(Number(throttled.headers.get('retry-after')) >= 1)
      assert.equal((await post(s.url, INITIALIZE, {'x-api-key': good})).status, 200, 'the valid key is not locked out')
      await sleep(4200)
      assert.equal((await post(s.url, INITIALIZE, {'x-api-key': bad})).status, 401, 'after the window, a failure is a 401 again')
      const rs = await waitFor((r) => r.filter((x) => x.event === 'ratelimit').length >= 3)
      const limited = rs.filter((r) => r.event === 'ratelimit')
      assert.ok(limited.every((r) => r.policy === 'auth-failures' && r.auth_reason !== undefined))
    })
  })

  describe('input guard', () => {
    it('refuses an oversized body (413), a denied address (403), bad arguments and each seed pattern, and audits each with its reason', async () => {
      await cli(['config', 'set', 'guard.max-body', '4KiB'])
      const k = await key('guarded')
      let s = await serve()
      const big = await post(s.url, call(1, 'echo', {message: 'x'.repeat(5000)}), {'x-api-key': k})
      assert.equal(big.status, 413)
      const c = await connect(s.url, k)
      const schema = await c.callTool({name: 'echo', arguments: {message: 42}})
      assert.equal(schema.isError, true)
      assert.match(textOf(schema), /message/)
      const attacks: Record<string, unknown> = {
        traversal: {message: '../../etc/passwd'},
        script: {message: 'hi <script>alert(1)</script>'},
        'sql-union': {message: "1' UNION ALL SELECT password FROM users"},
        eval: {message: 'eval (atob("x"))'},
      }
      for (const [pattern, args] of Object.entries(attacks)) {
        const r = await c.callTool({name: 'echo', arguments: args as Record<string, string>})
        assert.equal(r.isError, true, pattern)
        assert.match(textOf(r), /Refused by keyward's input guard/)
        assert.ok(!textOf(r).includes(pattern), 'the reply does not name the pattern')
      }
      assert.equal(textOf(await c.callTool({name: 'echo', arguments: {message: 'an ordinary union of sets'}})), 'an ordinary union of sets')
      assert.deepEqual(await bed.stopServers(), [0], 'a clean shutdown')
      await cli(['config', 'set', 'guard.deny-cidrs', '127.0.0.0/8'])
      // Listening on :: makes the peer an IPv4-mapped address (::ffff:127.0.0.1): the IPv4 list still applies.
      s = await serve(['--host', '::', '--allowed-host', '127.0.0.1'])
      const denied = await post(s.url.replace('[::]', '127.0.0.1'), INITIALIZE, {'x-api-key': k})
      assert.equal(denied.status, 403)
      assert.equal(JSON.parse(denied.text).error.data.reason, 'address_denied')
      const rs = await waitFor((r) => r.filter((x) => x.event === 'guard.block').length >= 7)
      const blocks = rs.filter((r) => r.event === 'guard.block')
      const seen = rs.map((r) => `${r.seq}:${r.event}:${r.reason ?? r.outcome ?? ''}`).join(' ')
      assert.deepEqual(blocks.map((b) => (b.reason === 'pattern' ? `pattern:${b.pattern}` : b.reason)).sort(), [
        'address_denied',
        'pattern:eval',
        'pattern:script',
        'pattern:sql-union',
        'pattern:traversal',
        'schema',
        'too_large',
      ], seen)
      assert.ok(blocks.find((b) => b.reason === 'address_denied')!.peer === '::ffff:127.0.0.1')
    })

    it('patterns are configurable and can be skipped per tool; an allow list admits only its networks', async () => {
      await cli(['config', 'set', 'guard.patterns', 'traversal,/forbidden-\\d+/'])
      await cli(['config', 'set', 'guard.skip-tools', 'echo'])
      await cli(['config', 'set', 'guard.allow-cidrs', '10.0.0.0/8'])
      const k = await key('cfg')
      let s = await serve()
      assert.equal((await post(s.url, INITIALIZE, {'x-api-key': k})).status, 403, 'loopback is not in the allow list')
      await bed.stopServers()
      await cli(['config', 'set', 'guard.allow-cidrs', '127.0.0.1/32,::1/128'])
      s = await serve()
      const c = await connect(s.url, k)
      assert.equal(textOf(await c.callTool({name: 'echo', arguments: {message: '../x forbidden-12'}})), '../x forbidden-12', 'echo is skipped')
      const r = await c.callTool({name: 'get_time', arguments: {timezone: 'forbidden-7'}})
      assert.equal(r.isError, true)
      assert.match(textOf(r), /input guard/)
    })
  })

  describe('secret redaction', () => {
    it('a vault secret in a tool result, a tool error, an upstream error, a log message and the bytes of a resource blob reaches the client as [REDACTED:NAME]; so does a GitHub token', async () => {
      await cli(['secrets', 'set', 'FIXTURE_TOKEN'], SECRET)
      await cli(['upstream', 'add', 'fixture', '--env', 'FIXTURE_SECRET=secret:FIXTURE_TOKEN', '--env', 'FIXTURE_ENV_BLOB=1', '--', process.execPath, FIXTURE])
      const k = await key('redacted')
      const s = await serve()
      const c = await connect(s.url, k)
      const logs: string[] = []
      c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(JSON.stringify(n.params)))
      await c.setLoggingLevel('debug')
      assert.equal(textOf(await c.callTool({name: 'fixture__echo_secret', arguments: {}})), 'the secret is [REDACTED:FIXTURE_TOKEN]')
      assert.equal(textOf(await c.callTool({name: 'fixture__fail_with_secret', arguments: {}})), 'could not log in with [REDACTED:FIXTURE_TOKEN]')
      await assert.rejects(c.getPrompt({name: 'fixture__greet', arguments: {who: 'leak'}}), (err: Error) => {
        assert.match(err.message, /bad login for \[REDACTED:FIXTURE_TOKEN\]/)
        assert.ok(!err.message.includes(SECRET))
        return true
      })
      await c.callTool({name: 'fixture__log_secret', arguments: {}})
      for (let i = 0; i < 40 && logs.length === 0; i++) await sleep(50)
      assert.ok(logs.some((l) => l.includes('[REDACTED:FIXTURE_TOKEN]')), logs.join('\n'))
      assert.ok(logs.every((l) => !l.includes(SECRET)))
      assert.equal(textOf(await c.callTool({name: 'echo', arguments: {message: `token ${GITHUB_TOKEN}`}})), 'token [REDACTED:github-token]')
      // A blob is base64: the secret is found in the bytes it encodes, and the blob stays base64.
      const [env] = (await c.readResource({uri: 'fixture://env'})).contents as {blob: string}[]
      assert.equal(Buffer.from(env.blob, 'base64').toString('utf8'), 'MODE=test\nTOKEN=[REDACTED:FIXTURE_TOKEN]\n')
      const rs = await waitFor((r) => r.filter((x) => x.event === 'redaction').length >= 4)
      const redactions = rs.filter((r) => r.event === 'redaction')
      assert.ok(redactions.some((r) => (r.secrets as string[]).includes('FIXTURE_TOKEN') && r.tool === 'fixture__echo_secret'))
      assert.ok(redactions.some((r) => (r.secrets as string[]).includes('github-token')))
    })

    it('guard.redact false turns it off, and a secret added while serving is redacted from the next result on', async () => {
      const k = await key('live')
      await cli(['config', 'set', 'guard.redact', 'false', '--yes'])
      const s = await serve()
      const c = await connect(s.url, k)
      assert.equal(textOf(await c.callTool({name: 'echo', arguments: {message: `x ${GITHUB_TOKEN}`}})), `x ${GITHUB_TOKEN}`)
      await cli(['config', 'set', 'guard.redact', 'true'])
      await cli(['secrets', 'set', 'LATE_SECRET'], 'late-arrival-9913')
      let out = ''
      for (let i = 0; i < 40; i++) {
        out = textOf(await c.callTool({name: 'echo', arguments: {message: 'say late-arrival-9913'}}))
        if (out.includes('REDACTED')) break
        await sleep(100)
      }
      assert.equal(out, 'say [REDACTED:LATE_SECRET]')
    })
  })

  describe('audit log', () => {
    it('records every server and admin event type, and never a secret, a key or a token', async () => {
      await cli(['secrets', 'set', 'FIXTURE_TOKEN'], SECRET)
      await cli(['secrets', 'set', 'DOOMED'], 'doomed-value-123')
      await cli(['secrets', 'rm', 'DOOMED', '--yes'])
      await cli(['upstream', 'add', 'fixture', '--env', 'FIXTURE_SECRET=secret:FIXTURE_TOKEN', '--', process.execPath, FIXTURE])
      await cli(['upstream', 'add', 'gone', '--', process.execPath, FIXTURE])
      await cli(['upstream', 'rm', 'gone', '--yes'])
      await cli(['config', 'set', 'audit.args', 'true'])
      await cli(['config', 'set', 'ratelimit.tool.get_time', '1/1min'])
      const k = await key('auditor', '--scope', 'readonly', '--scope', 'echo', '--scope', 'fixture__*')
      await cli(['keys', 'scope', 'auditor', '--add', 'debug_info'])
      const rotated = (await cli(['keys', 'rotate', 'auditor', '--grace', '1h'])).stdout.trim()
      const doomed = await key('doomed')
      await cli(['keys', 'revoke', 'doomed', '--yes'])
      const seedFile = box.path('seed.json')
      const seedKey = `sk_${'Z'.repeat(32)}`
      await fs.writeFile(seedFile, JSON.stringify({api_keys: {seed: seedKey}, key_permissions: {seed: ['get_*']}}), {mode: 0o600})
      await cli(['keys', 'import', seedFile])
      await cli(['vault', 'rotate'])
      await cli(['vault', 'passwd', '--add-key-file', box.path('second.key')])
      const s = await serve()
      const c = await connect(s.url, rotated)
      await c.callTool({name: 'echo', arguments: {message: `my password is ${SECRET}`}})
      await c.callTool({name: 'fixture__echo_secret', arguments: {}})
      await assert.rejects(c.callTool({name: 'secret_tool_nobody_has', arguments: {}}))
      await c.callTool({name: 'echo', arguments: {message: '../../etc/shadow'}})
      await c.callTool({name: 'get_time', arguments: {}})
      await assert.rejects(c.callTool({name: 'get_time', arguments: {}}), /Too Many Requests/)
      const jwtish = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXRoYXQtaXMtbm90'
      assert.equal((await post(s.url, INITIALIZE, bearer(jwtish))).status, 401)
      assert.equal((await post(s.url, INITIALIZE, {'x-api-key': doomed})).status, 401)
      await cli(['secrets', 'set', 'RELOADED'], 'reloaded-value-77')
      await waitFor((r) => r.some((x) => x.event === 'server.reload'))
      await c.close()
      await bed.stopServers()
      const rs = await records()
      const events = new Set(rs.map((r) => r.event))
      for (const e of [
        'server.start',
        'server.reload',
        'server.stop',
        'auth.success',
        'auth.failure',
        'authz.denied',
        'ratelimit',
        'guard.block',
        'redaction',
        'tool.call',
        'key.generate',
        'key.scope',
        'key.rotate',
        'key.revoke',
        'key.import',
        'secret.set',
        'secret.rm',
        'upstream.add',
        'upstream.rm',
        'vault.rotate',
        'vault.passwd',
        'config.set',
      ]) {
        assert.ok(events.has(e), `no ${e} record; got ${[...events].join(', ')}`)
      }
      const failures = rs.filter((r) => r.event === 'auth.failure').map((r) => r.reason)
      assert.ok(failures.includes('revoked') && failures.length >= 2, failures.join(','))
      const denied = rs.find((r) => r.event === 'authz.denied')!
      assert.equal(denied.reason, 'unknown')
      const calls = rs.filter((r) => r.event === 'tool.call')
      assert.ok(calls.every((r) => typeof r.duration_ms === 'number' && r.principal && r.outcome))
      const echoed = calls.find((r) => r.tool === 'echo' && r.outcome === 'ok')!
      assert.deepEqual(echoed.arguments, {message: 'my password is [REDACTED:FIXTURE_TOKEN]'})
      assert.equal(rs.filter((r) => r.event === 'auth.success').length, 1, 'once per session')
      const all = readdirSync(path.dirname(auditFile()))
        .filter((n) => n.startsWith(path.basename(auditFile())))
        .map((n) => readFileSync(path.join(path.dirname(auditFile()), n), 'utf8'))
        .join('\n')
      for (const [what, value] of [
        ['the planted secret', SECRET],
        ['the removed secret', 'doomed-value-123'],
        ['the key', k],
        ['the rotated key', rotated],
        ['the revoked key', doomed],
        ['the seed key', seedKey],
        ['the bearer token', jwtish],
      ]) {
        assert.ok(!all.includes(value), `${what} is in the audit log`)
      }
      const v = await box.run(['audit', 'verify', '--json'])
      assert.equal(v.code, 0, v.stdout + v.stderr)
      assert.equal(json(v).records, rs.length)
      const stat = await fs.stat(auditFile())
      assert.equal(stat.mode & 0o777, 0o600)
      const tail = await cli(['audit', 'tail', '--event', 'key', '--json'])
      assert.ok(json(tail).records.every((r: Record_) => r.event.startsWith('key.')))
      const byKey = await cli(['audit', 'tail', '--key', 'auditor', '-n', '1000', '--json'])
      assert.ok(json(byKey).records.length >= 5)
      assert.ok(json(byKey).records.every((r: Record_) => r.name === 'auditor' || r.key === json(byKey).records[0].key))
    })

    it('admin commands record in the log --audit-log names, and audit verify checks it there', async () => {
      const elsewhere = box.path('logs', 'admin.jsonl')
      await fs.mkdir(path.dirname(elsewhere), {recursive: true, mode: 0o700})
      const flag = ['--audit-log', elsewhere]
      await cli(['secrets', 'set', 'FLAGGED', ...flag], 'flagged-value-123456')
      await cli(['keys', 'generate', '--name', 'flagged', '--scope', 'echo', ...flag])
      await cli(['keys', 'revoke', 'flagged', '--yes', ...flag])
      await cli(['config', 'set', 'audit.args', 'true', ...flag])
      await cli(['config', 'unset', 'audit.args', ...flag])
      await cli(['secrets', 'rm', 'FLAGGED', '--yes', ...flag])
      const text = await fs.readFile(elsewhere, 'utf8')
      const events = text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as Record_).event)
      assert.deepEqual(events, ['secret.set', 'key.generate', 'key.revoke', 'config.set', 'config.unset', 'secret.rm'])
      assert.deepEqual(await records(), [], 'nothing in the default log')
      const v = await box.run(['audit', 'verify', '--json', ...flag])
      assert.equal(v.code, 0, v.stdout)
      assert.equal(json(v).records, 6)
    })

    it('verify names an edited, a deleted, a reordered and a truncated record, with exit code 28', async () => {
      for (let i = 0; i < 6; i++) await cli(['secrets', 'set', `S${i}`], `value-${i}-xxxxxxxx`)
      const file = auditFile()
      const original = await fs.readFile(file, 'utf8')
      const lines = original.split('\n').filter(Boolean)
      assert.equal(lines.length, 6)
      let r = await box.run(['audit', 'verify'])
      assert.equal(r.code, 0, r.stderr)
      const check = async (content: string, kind: string, message: RegExp) => {
        await fs.writeFile(file, content)
        const out = await box.run(['audit', 'verify'])
        assert.equal(out.code, 28, `${kind}: ${out.stdout}${out.stderr}`)
        assert.match(out.stderr, new RegExp(`: ${kind}: `))
        assert.match(out.stderr, message)
        const j = await box.run(['audit', 'verify', '--json'])
        assert.equal(j.code, 28)
        assert.equal(json(j).kind, kind)
      }
      await check(original.replace('"secret":"S2"', '"secret":"S9"'), 'edited', /record 3 \([0-9a-f-]+\.jsonl:3\) was edited/)
      await check([...lines.slice(0, 3), ...lines.slice(4)].join('\n') + '\n', 'missing', /record 4 is missing/)
      await check([lines[0], lines[2], lines[1], ...lines.slice(3)].join('\n') + '\n', 'reordered', /record 3 \([0-9a-f-]+\.jsonl:2\) is out of order/)
      await check(lines.slice(0, 5).join('\n') + '\n', 'truncated', /ends at record 5, the head file says 6/)
      await fs.writeFile(file, original)
      r = await box.run(['audit', 'verify'])
      assert.equal(r.code, 0)
    })

    it('rotates by size, keeping one chain across files, and verify checks across them', async () => {
      await cli(['config', 'set', 'audit.max-size', '1KiB'])
      for (let i = 0; i < 8; i++) await cli(['secrets', 'set', `ROT_${i}`], `rotating-${i}-xxxxxxxx`)
      const dir = path.dirname(auditFile())
      const segments = readdirSync(dir).filter((n) => /\.jsonl\.\d{12}(\.gz)?$/.test(n))
      assert.ok(segments.length >= 2, `segments: ${segments.join(', ')}`)
      let r = await box.run(['audit', 'verify', '--json'])
      assert.equal(r.code, 0, r.stdout)
      assert.equal(json(r).records, 9)
      await fs.rm(path.join(dir, segments.sort()[1]))
      r = await box.run(['audit', 'verify'])
      assert.equal(r.code, 28)
      assert.match(r.stderr, /missing/)
    })

    it('fail-closed: requests are refused while the log cannot be written, and served again once it can', async () => {
      await cli(['config', 'set', 'audit.fail-closed', 'true'])
      const k = await key('strict')
      const s = await serve()
      const c = await connect(s.url, k)
      assert.match(textOf(await c.callTool({name: 'get_time', arguments: {}})), /\d{4}-/)
      const file = auditFile()
      // Running as root, permissions would not stop the writes: a directory in the log's place does.
      await fs.rename(file, `${file}.aside`)
      await fs.mkdir(file)
      // The first call after the break runs, but its result is withheld: its record could not be written.
      await assert.rejects(c.callTool({name: 'get_time', arguments: {}}), /audit log cannot be written/)
      // From then on, nothing is served.
      const refused = await post(s.url, call(9, 'get_time'), {'x-api-key': k})
      assert.equal(refused.status, 503)
      assert.equal(JSON.parse(refused.text).error.data.reason, 'audit_unavailable')
      await assert.rejects(c.callTool({name: 'get_time', arguments: {}}), /Service Unavailable|audit log cannot be written/)
      await fs.rmdir(file)
      await fs.rename(`${file}.aside`, file)
      let ok = false
      for (let i = 0; i < 40 && !ok; i++) {
        ok = await c.callTool({name: 'get_time', arguments: {}}).then(
          () => true,
          () => false,
        )
        if (!ok) await sleep(100)
      }
      assert.ok(ok, 'served again once the log is writable')
      await bed.stopServers()
      const v = await box.run(['audit', 'verify'])
      assert.equal(v.code, 0, v.stderr)
      assert.match(s.logs(), /cannot be written .*requests are refused/)
    })

    it('fail-closed over stdio answers with a JSON-RPC error', async () => {
      await cli(['config', 'set', 'audit.fail-closed', 'true'])
      const k = await key('strict-stdio')
      const {client} = await stdioClient(box, {KEYWARD_API_KEY: k})
      bed.clients.push(client)
      await client.callTool({name: 'get_time', arguments: {}})
      const file = auditFile()
      await fs.rename(file, `${file}.aside`)
      await fs.mkdir(file)
      await assert.rejects(client.callTool({name: 'get_time', arguments: {}}), (err: {code: number; message: string}) => {
        assert.equal(err.code, -32000)
        assert.match(err.message, /audit log cannot be written/)
        return true
      })
      await fs.rmdir(file)
      await fs.rename(`${file}.aside`, file)
      await sleep(300)
      await client.callTool({name: 'get_time', arguments: {}})
    })
  })
})
