/**
 * What upstream definitions and their schemas may and may not do (issue 15, items 11-14): the
 * built CLI, `keyward serve` over HTTP, the SDK's real Client, and the fixture upstream.
 */
import assert from 'node:assert/strict'
import path from 'node:path'

import {Bed} from '../helpers/bed.js'
import {json, ROOT, sleep} from '../helpers/cli.js'

const FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'upstream-server.js')
const textOf = (r: unknown) => ((r as {content: {text: string}[]}).content[0]?.text ?? '')

/** Milliseconds `/healthz` takes to answer, polled while `work` runs; the worst of them. */
async function healthzWhile(url: string, work: Promise<unknown>): Promise<number> {
  const healthz = new URL('/healthz', url).toString()
  let done = false
  void work.finally(() => (done = true)).catch(() => {})
  let worst = 0
  while (!done) {
    const started = performance.now()
    await fetch(healthz).then((r) => r.text())
    worst = Math.max(worst, performance.now() - started)
    await sleep(20)
  }
  return worst
}

describe('upstream inputs', function () {
  this.timeout(90_000)
  const bed = new Bed()
  beforeEach(() => bed.setUp())
  afterEach(() => bed.tearDown())

  describe('ReDoS (issue 15.11)', () => {
    it('a schema pattern that backtracks exponentially is matched in linear time; /healthz stays responsive', async () => {
      await bed.cli(['upstream', 'add', 're', '--env', 'FIXTURE_PATTERN=^(a+)+$', '--', process.execPath, FIXTURE])
      const key = await bed.key('all')
      const s = await bed.serve()
      const c = await bed.connect(s.url, key)
      assert.equal(textOf(await c.callTool({name: 're__match_pattern', arguments: {value: 'aaaa'}})), 'matched aaaa')
      const started = performance.now()
      const call = c.callTool({name: 're__match_pattern', arguments: {value: `${'a'.repeat(30)}!`}})
      const worst = await healthzWhile(s.url, call)
      const result = await call
      const took = performance.now() - started
      assert.equal(result.isError, true)
      assert.match(textOf(result), /value must match pattern/)
      assert.ok(took < 1000, `the call took ${took.toFixed(0)} ms`)
      assert.ok(worst < 500, `/healthz took ${worst.toFixed(0)} ms`)
    })

    it('a tool whose schema pattern has no linear-time match is refused, and the operator told once', async () => {
      await bed.cli(['upstream', 'add', 'br', '--env', String.raw`FIXTURE_PATTERN=^(a)\1$`, '--', process.execPath, FIXTURE])
      const key = await bed.key('all')
      const s = await bed.serve()
      const c = await bed.connect(s.url, key)
      for (const value of ['aa', 'ab']) {
        const r = await c.callTool({name: 'br__match_pattern', arguments: {value}})
        assert.equal(r.isError, true)
        assert.match(textOf(r), /cannot check the arguments of br__match_pattern.*backreferences/)
      }
      await sleep(200)
      assert.equal(s.logs().match(/tool br__match_pattern: its input schema has a pattern keyward cannot check/g)?.length, 1, s.logs())
    })

    it('a tool whose schema pattern would take the event loop most of a second to compile (a 1,000-character group repeated 1,000 times) is refused, never compiled; the server serves on (review)', async () => {
      await bed.cli(['upstream', 'add', 'big', '--env', `FIXTURE_PATTERN=(${'一'.repeat(1000)}){1000}`, '--', process.execPath, FIXTURE])
      const key = await bed.key('all')
      const s = await bed.serve()
      const c = await bed.connect(s.url, key)
      const r = await c.callTool({name: 'big__match_pattern', arguments: {value: 'x'}})
      assert.equal(r.isError, true)
      assert.match(textOf(r), /cannot check the arguments of big__match_pattern.*too large to compile/)
      assert.equal(textOf(await c.callTool({name: 'echo', arguments: {message: 'still here'}})), 'still here')
    })

    it('config set guard.patterns: a backtracking pattern runs in linear time; one with no linear-time match is refused', async () => {
      await bed.cli(['upstream', 'add', 'fx', '--', process.execPath, FIXTURE])
      let r = await bed.box.run(['config', 'set', 'guard.patterns', String.raw`/(a)\1/`])
      assert.equal(r.code, 2)
      assert.match(r.stderr, /cannot be matched in linear time/)
      r = await bed.box.run(['config', 'set', 'guard.patterns', '/(?<=a)b/'])
      assert.equal(r.code, 2)
      await bed.cli(['config', 'set', 'guard.patterns', '/(a+)+$/'])
      const key = await bed.key('all')
      const s = await bed.serve()
      const c = await bed.connect(s.url, key)
      assert.equal(textOf(await c.callTool({name: 'fx__set_value', arguments: {value: 'warm'}})), 'set warm')
      const started = performance.now()
      const call = c.callTool({name: 'fx__set_value', arguments: {value: `${'a'.repeat(40)}!`}})
      const worst = await healthzWhile(s.url, call)
      assert.equal(textOf(await call), `set ${'a'.repeat(40)}!`)
      assert.ok(performance.now() - started < 1000 && worst < 500, `took ${(performance.now() - started).toFixed(0)} ms, /healthz ${worst.toFixed(0)} ms`)
      const blocked = await c.callTool({name: 'fx__set_value', arguments: {value: 'xAAA'}})
      assert.match(textOf(blocked), /blocked pattern/)
    })
  })

  describe('upstream add takes the command after -- verbatim (issue 15.12)', () => {
    it('stores every argument in order, even one equal to the name or to a flag', async () => {
      const command = ['x', 'y', 'zz', '--env', 'A=b', '--', '-e', 'zz']
      await bed.cli(['upstream', 'add', 'zz', '--description', 'order', '--', ...command])
      const shown = json(await bed.cli(['upstream', 'show', 'zz', '--json'])).upstream
      assert.deepEqual([shown.command, ...shown.args], command)
      assert.deepEqual(shown.env, {}, 'an --env after -- belongs to the command')
      await bed.cli(['upstream', 'add', 'yy', '--env', 'MODE=x', '--', 'yy', 'yy'])
      const yy = json(await bed.cli(['upstream', 'show', 'yy', '--json'])).upstream
      assert.deepEqual([yy.command, ...yy.args], ['yy', 'yy'])
      assert.deepEqual(yy.env, {MODE: 'x'})
      const r = await bed.box.run(['upstream', 'add', 'ww', 'cmd', 'arg'])
      assert.equal(r.code, 2)
      assert.match(r.stderr, /after --/)
    })
  })

  describe('credentials in upstream arguments (issue 15.13)', () => {
    const CREDENTIALS = ['--token=ghp_abcdefghijklmnopqrstuvwxyz0123456789', '--api-key=sk-abcdefghijklmnopqrstuvwx', 'postgresql://user:hunter2pass@host/db']

    it('upstream add refuses each, naming neither the value nor the argument, with a hint', async () => {
      for (const arg of [...CREDENTIALS, '--password=hunter2pass']) {
        const r = await bed.box.run(['upstream', 'add', 'leaky', '--', 'npx', '-y', 'some-server', arg])
        assert.equal(r.code, 2, arg)
        assert.match(r.stderr, /--env VAR=secret:NAME/)
        for (const part of ['ghp_abcdef', 'sk-abcdef', 'hunter2pass']) assert.ok(!r.stderr.includes(part), `${arg}: not echoed`)
      }
      const pair = await bed.box.run(['upstream', 'add', 'leaky', '--', 'server', '--password', 'hunter2pass'])
      assert.equal(pair.code, 2)
      const env = await bed.box.run(['upstream', 'add', 'leaky', '--env', 'DATABASE_URL=postgresql://user:hunter2pass@host/db', '--', 'server'])
      assert.equal(env.code, 2, 'nor as an --env literal')
      assert.equal(json(await bed.cli(['upstream', 'list', '--json'])).upstreams.length, 0)
      await bed.cli(['upstream', 'add', 'fine', '--env', 'NODE_ENV=production', '--', 'server', '--max-tokens=100', '--token-file=/run/token', 'postgresql://user@host/db'])
    })

    it('upstream list and show mask what an older vault holds', async () => {
      const {loadKeyFile, updateVault} = await import('../../src/vault/index.js')
      const {upstreamsOf} = await import('../../src/upstreams/index.js')
      const now = new Date().toISOString()
      await updateVault(bed.box.vault, await loadKeyFile(bed.box.env.KEYWARD_KEY_FILE), (vault) => {
        upstreamsOf(vault.data).set('old', {name: 'old', transport: 'stdio', command: 'server', args: [...CREDENTIALS, '--password', 'hunter2pass', '--verbose'], env: {API_TOKEN: {literal: 'plain-old-token-value'}, MODE: {literal: 'fast'}}, prefix: true, created: now, updated: now})
        upstreamsOf(vault.data).set('web', {name: 'web', transport: 'http', url: 'https://u:webpass99@mcp.example/mcp?token=qs-secret-1', headers: {Authorization: 'Bearer header-secret-1'}, prefix: true, created: now, updated: now})
      })
      const outputs = [
        (await bed.cli(['upstream', 'list'])).stdout,
        (await bed.cli(['upstream', 'list', '--json'])).stdout,
        (await bed.cli(['upstream', 'show', 'old'])).stdout,
        (await bed.cli(['upstream', 'show', 'old', '--json'])).stdout,
        (await bed.cli(['upstream', 'show', 'web'])).stdout,
        (await bed.cli(['upstream', 'show', 'web', '--json'])).stdout,
      ]
      for (const out of outputs) {
        for (const secret of ['ghp_abcdef', 'sk-abcdef', 'hunter2pass', 'plain-old-token-value', 'webpass99', 'qs-secret-1', 'header-secret-1']) assert.ok(!out.includes(secret), `${secret} in:\n${out}`)
      }
      const old = json(await bed.cli(['upstream', 'show', 'old', '--json'])).upstream
      assert.deepEqual(old.args, ['--token=***', '--api-key=***', 'postgresql://user:***@host/db', '--password', '***', '--verbose'])
      assert.deepEqual(old.env, {API_TOKEN: '***', MODE: 'fast'})
    })
  })

  describe('resource URIs belong to one upstream (issue 15.14)', () => {
    /** Reads `uri` until `b` serves it, failing if any answer came from another upstream; the answers seen. */
    async function readUntilB(c: import('@modelcontextprotocol/sdk/client/index.js').Client, uri: string): Promise<string[]> {
      const seen: string[] = []
      for (let t = 0; t < 150; t++) {
        const text = await c.readResource({uri}).then(
          (r) => (r.contents[0] as {text: string}).text,
          (err: Error) => `error: ${err.message}`,
        )
        seen.push(text)
        assert.ok(!text.startsWith('a served'), `${uri} reached upstream a: ${seen.join(' | ')}`)
        if (text === `b served ${uri}`) return seen
        await sleep(100)
      }
      throw new Error(`b never served ${uri}: ${seen.slice(-3).join(' | ')}`)
    }

    it('an upstream defined later cannot serve another’s URI: not while that one starts, not after a list change, not after a restart', async () => {
      // b is defined first and starts slowly; a (whose name sorts first) offers b's URI too.
      await bed.cli(['upstream', 'add', 'b', '--env', 'FIXTURE_NAME=b', '--env', 'FIXTURE_RESOURCES=b://secret', '--env', 'FIXTURE_START_DELAY_MS=4000', '--', process.execPath, FIXTURE])
      await bed.cli(['upstream', 'add', 'a', '--env', 'FIXTURE_NAME=a', '--env', 'FIXTURE_RESOURCES=b://secret,a://own', '--', process.execPath, FIXTURE])
      const key = await bed.key('b-resources', '--scope', 'resource:b://**', '--scope', 'a__add_tool')
      for (const round of ['first start', 'restart']) {
        const s = await bed.serve()
        const c = await bed.connect(s.url, key)
        const seen = await readUntilB(c, 'b://secret')
        assert.ok(seen.length > 1, `${round}: b was still starting at the first read`)
        assert.equal(textOf(await c.callTool({name: 'a__add_tool', arguments: {}})), 'added')
        await sleep(300)
        assert.deepEqual(await readUntilB(c, 'b://secret'), ['b served b://secret'], `${round}: after a list change`)
        const listed = (await c.listResources()).resources.map((r) => r.uri)
        assert.deepEqual(listed, ['b://secret'])
        await assert.rejects(c.readResource({uri: 'a://own'}), `${round}: out of the key's scopes`)
        assert.equal(s.logs().match(/b:\/\/secret/g)?.length, 1, `${round}: the collision is logged once:\n${s.logs()}`)
        await bed.stopServers()
      }
    })
  })
})
