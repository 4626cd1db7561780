/**
 * `keyward ui` (issue 20) in a real browser: Debian's chromium, driven by playwright-core,
 * through every page of the console, against a real vault, a running `keyward serve` with an
 * upstream, and real traffic from the SDK's Client. Each test checks what a person sees, saves
 * a screenshot under test/artifacts/, and runs axe-core. Then the attacks: each is refused, and
 * the vault stays byte for byte as it was.
 */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {copyFileSync, mkdirSync, promises as fs} from 'node:fs'
import {createServer, request, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'

import type {Client} from '@modelcontextprotocol/sdk/client/index.js'
import type {Browser, BrowserContext, Page} from 'playwright-core'

import {Bed} from '../helpers/bed.js'
import {haveChromium, launchBrowser, screenshot, seriousViolations} from '../helpers/browser.js'
import {json, ROOT, sleep} from '../helpers/cli.js'
import {needRedisServer, RedisServer} from '../helpers/redis.js'
import {bearer, INITIALIZE, post, startServe, type RunningServe} from '../helpers/server.js'
import {startUi, type RunningUi} from '../helpers/ui.js'

const FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'upstream-server.js')
const FIXTURE_SECRET = 'fixture-secret-Zq9-never-shown'
/** KEYWARD_UPDATE_SCREENSHOTS=1 also refreshes the README's pictures from this run. */
const DOC_IMAGES = path.join(ROOT, 'docs', 'images')

async function until<T>(check: () => Promise<T | undefined | false>, ms = 8000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const value = await check().catch(() => undefined)
    if (value) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** A raw request, for what a browser would never send (a foreign Host). */
function raw(url: string, options: {method?: string; headers?: Record<string, string>; body?: string} = {}): Promise<{status: number; headers: Record<string, string | string[] | undefined>; body: string}> {
  return new Promise((resolve, reject) => {
    const req = request(url, {method: options.method ?? 'GET', headers: options.headers}, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => (body += d))
      res.on('end', () => resolve({status: res.statusCode!, headers: res.headers, body}))
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

describe('keyward ui: the console in a real browser', function () {
  this.timeout(180_000)
  const bed = new Bed()
  let serve: RunningServe
  let ui: RunningUi
  let browser: Browser
  let context: BrowserContext
  let page: Page
  const keys: Record<string, string> = {}
  let callsMade = 0
  const cspViolations: string[] = []

  const vaultHash = async () => createHash('sha256').update(await fs.readFile(bed.box.vault)).digest('hex')

  /** Real traffic: calls (built-in and upstream tools), a refusal out of scope, a rate-limited key, a bad key. */
  async function traffic(): Promise<void> {
    const a = await bed.connect(serve.url, keys.a)
    for (let i = 0; i < 3; i++) await a.callTool({name: 'echo', arguments: {message: `hi ${i}`}})
    for (let i = 0; i < 2; i++) await a.callTool({name: 'fixture__get_process', arguments: {}})
    const b = await bed.connect(serve.url, keys.b)
    await b.callTool({name: 'hello_world', arguments: {}})
    await assert.rejects(b.callTool({name: 'get_time', arguments: {}}))
    callsMade = 6
    const c = await bed.connect(serve.url, keys.c)
    for (let i = 0; i < 8; i++) {
      try {
        await c.callTool({name: 'echo', arguments: {message: 'again'}})
        callsMade++
      } catch {
        break
      }
    }
    assert.equal((await post(serve.url, INITIALIZE, bearer('kw_notAKeyAtAll_000000000000000000000000000000000000000000000000'))).status, 401)
  }

  async function open(name: string): Promise<void> {
    await page.goto(`${ui.origin}/#/${name}`)
    await page.waitForSelector(`body[data-ready="${name}"]`, {timeout: 15_000})
  }

  async function checkAccessible(name: string): Promise<void> {
    const violations = await seriousViolations(page)
    assert.deepEqual(violations, [], `${name}: axe found serious or critical violations:\n${JSON.stringify(violations, null, 2)}`)
  }

  before(async function () {
    if (!haveChromium()) {
      // CI installs chromium (.ci/run) and sets KEYWARD_REQUIRE_CHROMIUM: there, a missing one fails.
      if (process.env.KEYWARD_REQUIRE_CHROMIUM) throw new Error('chromium is not installed: apt-get install chromium')
      process.stderr.write('  (skipped: no chromium at /usr/bin/chromium; apt-get install chromium, or set KEYWARD_CHROMIUM)\n')
      this.skip()
    }
    await bed.setUp()
    await bed.cli(['secrets', 'set', 'FIXTURE_TOKEN', '--description', 'the fixture upstream token'], FIXTURE_SECRET)
    await bed.cli(['upstream', 'add', 'fixture', '--env', 'FIXTURE_SECRET=secret:FIXTURE_TOKEN', '--', process.execPath, FIXTURE])
    await bed.cli(['upstream', 'add', 'broken', '--', process.execPath, '-e', 'process.exit(3)'])
    keys.a = await bed.key('agent-a')
    keys.b = await bed.key('agent-b', '--scope', 'limited')
    keys.c = await bed.key('agent-c', '--rate', '5/min')
    serve = await bed.serve()
    await traffic()
    ui = await startUi(bed.box)
    browser = await launchBrowser()
    context = await browser.newContext({viewport: {width: 1360, height: 900}})
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], {origin: ui.origin})
    page = await context.newPage()
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text())
    })
    await page.goto(ui.login)
    await page.waitForURL(`${ui.origin}/`)
  })

  after(async () => {
    await browser?.close()
    await ui?.stop()
    await bed.tearDown()
  })

  it('signs in with the one-time link: an HttpOnly session cookie the page cannot read, and a strict CSP', async () => {
    const [cookie] = await context.cookies(ui.origin)
    assert.equal(cookie.name, `keyward_ui_${ui.port}`)
    assert.equal(cookie.httpOnly, true)
    assert.equal(cookie.sameSite, 'Strict')
    assert.equal(await page.evaluate('document.cookie'), '')
    const res = await raw(`${ui.origin}/`, {headers: {host: ui.host, cookie: `${cookie.name}=${cookie.value}`}})
    assert.match(String(res.headers['content-security-policy']), /default-src 'self'; script-src 'self'; style-src 'self'/)
    assert.doesNotMatch(res.body, /<script>|<script [^>]*>[^<]/, 'no inline script in the page')
  })

  it('overview: the running serve and its health, the upstream, and charts of the calls that were made', async () => {
    await open('overview')
    await until(async () => (await page.locator('#replicas-title ~ table').textContent())?.includes(serve.url) && true, 8000, 'the serve replica')
    assert.match((await page.locator('#replicas-title ~ table').textContent()) ?? '', /ok/)
    await until(async () => (await page.locator('#upstreams-title ~ table').textContent())?.includes('ready') && true, 30_000, 'the upstream ready')
    assert.equal(await page.textContent('[data-testid="total-calls"]'), String(callsMade))
    assert.ok(Number(await page.textContent('[data-testid="total-refusals"]')) >= 2, 'the out-of-scope call and the bad key')
    assert.ok(Number(await page.textContent('[data-testid="total-ratelimited"]')) >= 1)
    for (const chart of ['chart-totals', 'chart-keys', 'chart-tools']) await page.waitForSelector(`#${chart}[data-drawn="true"] canvas`)
    const perKey = (await page.locator('#chart-keys ~ .summary').textContent()) ?? ''
    assert.match(perKey, /agent-a: 5/)
    assert.match(perKey, /agent-b: 1/)
    const latency = await until(async () => /fixture__get_process/.test((await page.locator('#latency-title ~ table').textContent()) ?? '') && ((await page.locator('#latency-title ~ table').textContent()) ?? ''), 8000, 'the latency table')
    assert.match(latency, /fixture__get_process\s*fixture\s*2/)
    await screenshot(page, 'ui-overview')
    await page.selectOption('select >> nth=0', 'day')
    await until(async () => /In the last day/.test((await page.textContent('[data-testid="traffic-totals"]')) ?? '') || undefined, 8000, 'the day range')
    assert.equal(await page.textContent('[data-testid="total-calls"]'), String(callsMade))
    await page.selectOption('select >> nth=0', 'hour')
    await checkAccessible('overview')
  })

  it('keys: list, filter and show, never a hash', async () => {
    await open('keys')
    for (const name of ['agent-a', 'agent-b', 'agent-c']) await page.waitForSelector(`tr[data-key="${name}"]`)
    await page.fill('input[type="search"]', 'limited-scope-nobody-has')
    await page.waitForSelector('text=No key matches.')
    await page.fill('input[type="search"]', 'hello_world')
    await until(async () => (await page.locator('#keys-table tbody tr').count()) === 1 || undefined, 5000, 'the filter')
    assert.equal(await page.getAttribute('#keys-table tbody tr', 'data-key'), 'agent-b')
    await page.fill('input[type="search"]', '')
    await page.click('tr[data-key="agent-c"] >> text=agent-c')
    const details = (await page.textContent('dialog')) ?? ''
    assert.match(details, /rate limit\s*5 per 60s/)
    assert.match(details, /scopes\s*\* prompt:\* resource:\*\*/)
    await checkAccessible('key details')
    await page.keyboard.press('Escape')
    assert.ok(!/"hash"|[0-9a-f]{64}/.test(await page.content()), 'no hash on the page')
  })

  it('keys: generate with a scope preview, the key shown once with a copy button, then listed; it works at once', async () => {
    await open('keys')
    await page.click('text=Generate key')
    await page.fill('input[name="name"]', 'from-console')
    await page.fill('input[name="scopes"]', 'fixture__get_*')
    const preview = page.locator('[data-testid="scope-preview"]')
    await until(async () => (await preview.textContent())?.includes('fixture__get_process') && true, 30_000, 'the preview')
    assert.equal(await preview.locator('li.allowed', {hasText: 'fixture__get_process'}).count(), 1)
    assert.equal(await preview.locator('li.denied', {hasText: /^✗ echo/}).count(), 1)
    await page.click('dialog button[type="submit"]')
    const key = await page.inputValue('[data-testid="new-key"]')
    assert.match(key, /^kw_/)
    await page.click('dialog >> text=Copy')
    await until(async () => (await page.textContent('dialog'))?.includes('Copied') && true)
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), key)
    await screenshot(page, 'ui-keys-generated')
    await page.click('text=Done: I stored it')
    await page.waitForSelector('tr[data-key="from-console"]')
    assert.ok(!(await page.content()).includes(key), 'the key is gone from the page once the dialog is closed')
    keys.console = key
    const client = await bed.connect(serve.url, key)
    assert.ok(((await client.callTool({name: 'fixture__get_process', arguments: {}})).content as unknown[]).length > 0)
    await assert.rejects(client.callTool({name: 'echo', arguments: {message: 'no'}}))
  })

  it('keys: edit scopes with a preview of what the new scopes allow; the CLI sees the change', async () => {
    await open('keys')
    await page.click('button[aria-label="Edit scopes of from-console"]')
    await page.fill('dialog input[name="scopes"]', 'echo hello_world')
    const preview = page.locator('[data-testid="scope-preview"]')
    await until(async () => (await preview.locator('li.allowed').allTextContents()).join(' ').includes('hello_world') && true, 10_000, 'the preview')
    assert.equal(await preview.locator('li.allowed', {hasText: 'fixture__get_process'}).count(), 0)
    await page.click('text=Save scopes')
    await until(async () => (await page.textContent('tr[data-key="from-console"] td.scopes')) === 'echo hello_world' && true)
    assert.deepEqual(json((await bed.cli(['keys', 'show', 'from-console', '--json']))).key.scopes, ['echo', 'hello_world'])
    const client = await bed.connect(serve.url, keys.console)
    await until(async () => (await client.callTool({name: 'echo', arguments: {message: 'now allowed'}})) && true, 5000, 'the new scope to apply')
  })

  it('keys: rotate with a grace period: the new key is shown once, and the old one keeps working meanwhile', async () => {
    await open('keys')
    await page.click('button[aria-label="Rotate agent-a"]')
    await page.selectOption('dialog select[name="grace"]', '1h')
    await page.click('dialog button[type="submit"]')
    const rotated = await page.inputValue('[data-testid="new-key"]')
    assert.notEqual(rotated, keys.a)
    assert.match((await page.textContent('dialog')) ?? '', /old key stays valid until/)
    await page.click('text=Done: I stored it')
    const fresh = await bed.connect(serve.url, rotated)
    await fresh.callTool({name: 'echo', arguments: {message: 'new key'}})
    const old = await bed.connect(serve.url, keys.a)
    await old.callTool({name: 'echo', arguments: {message: 'old key, in its grace period'}})
    assert.equal(json(await bed.cli(['keys', 'show', 'agent-a', '--json'])).key.graceSecrets.length, 1)
  })

  it('keys: revoke only after typing the name; the revoked key’s calls start failing', async () => {
    const client: Client = await bed.connect(serve.url, keys.b)
    await client.callTool({name: 'echo', arguments: {message: 'still fine'}})
    await open('keys')
    await page.click('button[aria-label="Revoke agent-b"]')
    const submit = page.locator('dialog button[type="submit"]')
    await page.fill('dialog input[name="confirm"]', 'agent-')
    assert.equal(await submit.isDisabled(), true)
    await page.fill('dialog input[name="confirm"]', 'agent-b')
    await page.fill('dialog input[name="reason"]', 'revoked from the console test')
    await submit.click()
    await until(async () => (await page.textContent('tr[data-key="agent-b"]'))?.includes('revoked') && true)
    await screenshot(page, 'ui-keys')
    await checkAccessible('keys')
    await until(
      async () =>
        client.callTool({name: 'echo', arguments: {message: 'after revocation'}}).then(
          () => false,
          () => true,
        ),
      5000,
      'the revoked key to be refused',
    )
    assert.equal((await post(serve.url, INITIALIZE, bearer(keys.b))).status, 401)
    assert.equal(json(await bed.cli(['keys', 'show', 'agent-b', '--json'])).key.status, 'revoked')
  })

  it('secrets: names, sizes and dates only; a value set through a password field is stored and never shown', async () => {
    await open('secrets')
    const row = page.locator('tr[data-secret="FIXTURE_TOKEN"]')
    assert.match((await row.textContent()) ?? '', new RegExp(`the fixture upstream token.*${FIXTURE_SECRET.length} B`))
    const value = 'typed-in-the-console-9Xq'
    await page.fill('form input[name="name"]', 'CONSOLE_TOKEN')
    assert.equal(await page.getAttribute('form input[name="value"]', 'type'), 'password')
    await page.fill('form input[name="value"]', value)
    await page.fill('form input[name="description"]', 'set from the console')
    await page.click('text=Save secret')
    await page.waitForSelector('tr[data-secret="CONSOLE_TOKEN"]')
    assert.equal(await page.inputValue('form input[name="value"]'), '')
    assert.equal((await bed.box.run(['secrets', 'get', 'CONSOLE_TOKEN'])).stdout, value)
    const html = await page.content()
    assert.ok(!html.includes(value) && !html.includes(FIXTURE_SECRET), 'no secret value on the page')
    await screenshot(page, 'ui-secrets')
    await checkAccessible('secrets')
  })

  it('upstreams: state, tools and last error; upstream test from the page; the pin panel', async () => {
    await open('upstreams')
    const broken = page.locator('tr[data-upstream="broken"]')
    await until(async () => /failed/.test((await broken.textContent()) ?? ''), 30_000, 'the broken upstream to fail')
    assert.ok(((await broken.locator('td.error-text').textContent()) ?? '').length > 10, 'its last error is shown')
    await page.waitForSelector('tr[data-upstream="fixture"]')
    await page.click('tr[data-upstream="fixture"] a')
    const status = page.locator('[data-testid="upstream-test"]')
    await until(async () => /tested/.test((await status.textContent()) ?? ''), 30_000, 'the first test (at start)')
    const earlier = await status.textContent()
    await sleep(1100) // the next test's time differs to the second
    await page.click('text=Test now')
    await until(async () => (await status.textContent()) !== earlier && (await page.locator('text=Test now').count()) === 1, 30_000, 'the new test result')
    assert.match((await status.textContent()) ?? '', /ready in [\d,.]+ ms \(fixture 1\.0\.0\): \d+ tools, 1 prompts, 1 resources/)
    assert.match((await page.locator('section.panel ul.chips').first().textContent()) ?? '', /fixture__get_secret_hash/)
    await until(async () => /\d+ definitions pinned; nothing awaits approval/.test((await page.textContent('[data-testid="pins"]')) ?? '') || undefined, 5000, 'the pin panel')
    assert.ok(!(await page.content()).includes(FIXTURE_SECRET))
    await screenshot(page, 'ui-upstreams')
    await checkAccessible('upstreams')
  })

  it('upstreams: a tool the upstream adds is held back; the page shows the diff, and approving it serves it', async () => {
    const key = await bed.key('pins-client')
    // serve picks the new key up when it reloads the vault (within a second).
    const client = await until(() => bed.connect(serve.url, key), 5000, 'the new key to be served')
    const names = async () => (await client.listTools()).tools.map((t) => t.name)
    await client.callTool({name: 'fixture__add_tool', arguments: {}})
    await until(async () => json(await bed.cli(['upstream', 'diff', 'fixture', '--json'])).changes.length === 1 || undefined, 10_000, 'the change recorded')
    assert.ok(!(await names()).includes('fixture__get_extra'), 'held back from clients')
    await page.goto('about:blank')
    await open('upstreams')
    await page.click('tr[data-upstream="fixture"] a')
    const pins = page.locator('[data-testid="pins"]')
    await until(async () => /1 change\(s\) held back/.test((await pins.textContent()) ?? '') || undefined, 10_000, 'the diff on the page').catch(async (err: Error) => {
      throw new Error(`${err.message}: ${await pins.textContent()}`)
    })
    assert.match((await pins.textContent()) ?? '', /added\s*tool\s*get_extra[\s\S]*\+ "added at run time"/)
    await screenshot(page, 'ui-pins')
    await checkAccessible('pins')
    await pins.locator('text=Approve these definitions').click()
    await pins.locator('text=/Approve 1 change/').click()
    await until(async () => /Approved 1 definition/.test((await pins.textContent()) ?? '') || undefined, 10_000, 'the approval')
    await until(async () => (await names()).includes('fixture__get_extra') || undefined, 10_000, 'the approved tool served')
    const records = json(await bed.cli(['audit', 'tail', '--event', 'pin', '-n', '20', '--json'])).records as Record<string, unknown>[]
    assert.ok(records.some((r) => r.event === 'pin.approved' && r.name === 'get_extra' && r.actor === 'ui'))
  })

  it('audit: filtered on the server, a live tail of new calls, any record whole, and the verify verdict in the header', async () => {
    await open('audit')
    await until(async () => (await page.getAttribute('[data-testid="verify-state"]', 'data-status')) === 'intact', 15_000, 'the verify verdict')
    const agentA = json(await bed.cli(['keys', 'show', 'agent-a', '--json'])).key.id as string
    await page.selectOption('select[name="key"]', `key:${agentA}`)
    await page.selectOption('select[name="event"]', 'tool.call')
    await page.click('form button[type="submit"]')
    await until(async () => /^7 matching/.test((await page.textContent('[data-testid="audit-count"]')) ?? '') || undefined, 8000, 'the filtered count')
    const rows = await page.locator('#audit-table tbody tr').allTextContents()
    assert.ok(rows.every((r) => r.includes('tool.call') && r.includes('agent-a')), rows.join('\n'))
    await page.selectOption('select[name="key"]', '')
    await page.selectOption('select[name="event"]', '')
    await page.fill('input[name="tool"]', 'fixture__*')
    await page.click('form button[type="submit"]')
    await until(async () => (await page.locator('#audit-table tbody tr').allTextContents()).every((r) => r.includes('fixture__')) || undefined, 8000, 'the tool filter')
    await page.fill('input[name="tool"]', '')
    await page.fill('input[name="from"]', '2099-01-01T00:00:00')
    await page.click('form button[type="submit"]')
    await until(async () => /^0 matching/.test((await page.textContent('[data-testid="audit-count"]')) ?? '') || undefined, 8000, 'the time range')
    await page.fill('input[name="from"]', '')
    await page.selectOption('select[name="key"]', `key:${agentA}`)
    await page.selectOption('select[name="event"]', 'tool.call')
    await page.click('form button[type="submit"]')
    await page.check('text=Live tail')
    await sleep(500)
    const client = await bed.connect(serve.url, keys.a)
    await client.callTool({name: 'echo', arguments: {message: 'live'}})
    await page.waitForSelector('#audit-table tr.fresh', {timeout: 10_000})
    assert.match((await page.textContent('#audit-table tr.fresh')) ?? '', /tool\.call.*echo.*ok/)
    await screenshot(page, 'ui-audit')
    await checkAccessible('audit')
    await page.click('#audit-table tr.fresh button')
    assert.match((await page.textContent('dialog pre.record')) ?? '', /"event": "tool.call"[\s\S]*"duration_ms"/)
    await checkAccessible('audit record')
    await page.keyboard.press('Escape')
  })

  it('every change made in the console is audited as actor "ui" with the OS user', async () => {
    const records = json(await bed.cli(['audit', 'tail', '--json', '-n', '200'])).records as Record<string, unknown>[]
    const changes = records.filter((r) => r.actor === 'ui').map((r) => r.event)
    for (const event of ['ui.login', 'key.generate', 'key.scope', 'key.rotate', 'key.revoke', 'secret.set', 'pin.approved']) assert.ok(changes.includes(event), `${event} in ${changes.join(' ')}`)
    assert.ok(records.filter((r) => r.actor === 'ui').every((r) => r.user === os.userInfo().username))
    assert.ok(!JSON.stringify(records).includes('typed-in-the-console'), 'no secret value in the audit log')
  })

  it('the README pictures come from this run (KEYWARD_UPDATE_SCREENSHOTS=1)', async function () {
    if (process.env.KEYWARD_UPDATE_SCREENSHOTS !== '1') this.skip()
    await open('overview')
    await page.waitForSelector('#chart-tools[data-drawn="true"] canvas')
    mkdirSync(DOC_IMAGES, {recursive: true})
    copyFileSync(await screenshot(page, 'ui-overview-readme'), path.join(DOC_IMAGES, 'console-overview.png'))
    await open('keys')
    copyFileSync(await screenshot(page, 'ui-keys-readme'), path.join(DOC_IMAGES, 'console-keys.png'))
  })

  it('no page broke the CSP (nothing inline, nothing external)', () => {
    assert.deepEqual(cspViolations, [])
  })

  it('text from outside (a client’s tool name in the audit log) is shown with its invisible and control characters escaped (review)', async () => {
    const client = await bed.connect(serve.url, keys.a)
    await assert.rejects(client.callTool({name: 'get_\u202etxt.exe\u009b', arguments: {}}))
    await open('audit')
    // An unknown tool: refused as authz.denied, its name recorded as the client sent it.
    await page.selectOption('select[name="key"]', '')
    await page.selectOption('select[name="event"]', '')
    await page.fill('input[name="tool"]', 'get_*')
    await page.click('form button[type="submit"]')
    const row = await until(async () => (await page.locator('#audit-table tbody tr').allTextContents()).find((r) => r.includes('txt.exe')), 8000, 'the row of that call')
    assert.ok(row.includes('get_\\u{202E}txt.exe\\u{9B}'), row)
    // Nowhere on the page either: not in a suggestion, not in an attribute.
    const everything = (await page.evaluate("document.body.innerText + [...document.querySelectorAll('*')].flatMap((e) => [...e.attributes].map((a) => a.value)).join(' ')")) as string
    assert.doesNotMatch(everything, /[\u202e\u009b]/)
    await page.fill('input[name="tool"]', '')
  })

  describe('attacks: each refused, and the vault unchanged', () => {
    let cookie: string
    let csrf: string
    let before: string

    beforeEach(async () => {
      const [c] = await context.cookies(ui.origin)
      cookie = `${c.name}=${c.value}`
      await open('keys')
      csrf = (await page.getAttribute('meta[name="csrf-token"]', 'content'))!
      before = await vaultHash()
    })

    afterEach(async () => {
      assert.equal(await vaultHash(), before, 'the vault is byte for byte as it was')
      assert.equal(json(await bed.cli(['keys', 'list', '--all', '--json'])).keys.filter((k: {name: string}) => k.name.startsWith('evil')).length, 0)
    })

    const self = () => ({host: ui.host, origin: ui.origin})
    const change = (headers: Record<string, string>) =>
      raw(`${ui.origin}/api/keys`, {method: 'POST', headers: {'content-type': 'application/json', ...headers}, body: JSON.stringify({name: 'evil', scopes: ['*']})})

    it('a request without the session cookie', async () => {
      assert.equal((await raw(`${ui.origin}/api/keys`, {headers: {host: self().host}})).status, 401)
      assert.equal((await raw(`${ui.origin}/`, {headers: {host: self().host}})).status, 401)
      assert.equal((await change({...self(), 'x-csrf-token': csrf})).status, 401)
      assert.equal((await change({...self(), 'x-csrf-token': csrf, cookie: `${cookie.split('=')[0]}=forged-session-value`})).status, 401)
    })

    it('a second use of the one-time login link', async () => {
      const again = await raw(ui.login, {headers: {host: self().host}})
      assert.equal(again.status, 403)
      assert.equal(again.headers['set-cookie'], undefined)
      const fresh = await browser.newContext()
      const other = await fresh.newPage()
      await other.goto(ui.login)
      assert.match(await other.textContent('body') ?? '', /not valid/)
      assert.deepEqual(await fresh.cookies(ui.origin), [])
      await fresh.close()
    })

    it('a change without the CSRF token, or with a wrong one', async () => {
      assert.equal((await change({...self(), cookie})).status, 403)
      assert.equal((await change({...self(), cookie, 'x-csrf-token': csrf.slice(0, -2) + 'xx'})).status, 403)
      const fromPage = await page.evaluate(async () => (await fetch('/api/keys', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({name: 'evil-page', scopes: ['*']})})).status)
      assert.equal(fromPage, 403)
    })

    it('a foreign Origin or Host (DNS rebinding)', async () => {
      assert.equal((await change({...self(), cookie, 'x-csrf-token': csrf, origin: 'http://evil.example'})).status, 403)
      assert.equal((await raw(`${ui.origin}/api/keys`, {headers: {...self(), cookie, origin: 'http://evil.example'}})).status, 403)
      assert.equal((await raw(`${ui.origin}/api/keys`, {headers: {host: `evil.example:${ui.port}`, cookie}})).status, 421)
      assert.equal((await change({host: `evil.example:${ui.port}`, origin: `http://evil.example:${ui.port}`, cookie, 'x-csrf-token': csrf})).status, 421)
      assert.equal((await raw(`${ui.origin}/api/keys`, {headers: {host: `127.0.0.1:${ui.port + 1}`, cookie}})).status, 421)
    })

    it('a page served from another port of this host, in the browser that holds the session', async () => {
      const evil = await evilServer(ui.origin)
      try {
        const tab = await context.newPage()
        await tab.goto(evil.url)
        const report = await until(async () => JSON.parse((await tab.getAttribute('body', 'data-report')) ?? 'null') as Record<string, string> | undefined, 10_000, 'the page’s report')
        await tab.close()
        // The browser sent the session cookie (same site: only the port differs); the console refused anyway.
        assert.equal(report.read, 'blocked', 'the page could not read the key list')
        const from = JSON.stringify(new URL(evil.url).origin)
        // The page's report can be in before the console's log lines reach its stderr: wait for them.
        const logged = (method: string) => `refused ${method} /api/keys: the request comes from a page of another origin (${from})`
        await until(async () => ui.output().includes(logged('POST')) && ui.output().includes(logged('GET')), 10_000, "both refusals in the console's log")
      } finally {
        evil.server.close()
      }
    })
  })

  describe('lifetime', () => {
    it('listens on loopback only', async function () {
      const external = Object.values(os.networkInterfaces())
        .flat()
        .find((i) => i && i.family === 'IPv4' && !i.internal)
      if (!external) this.skip()
      await assert.rejects(raw(`http://${external!.address}:${ui.port}/`), /ECONNREFUSED/)
    })

    it('overview: replicas with a live heartbeat on Redis', async function () {
      needRedisServer.call(this)
      const redis = await RedisServer.start()
      const replica = await startServe(bed.box, ['--redis', redis.url])
      const clustered = await startUi(bed.box, ['--no-open', '--redis', redis.url])
      const fresh = await browser.newContext()
      try {
        const tab = await fresh.newPage()
        await tab.goto(clustered.login)
        await tab.waitForURL(`${clustered.origin}/`)
        await tab.waitForSelector('body[data-ready="overview"]')
        await until(async () => ((await tab.textContent('#replicas-title ~ ul')) ?? '').includes(replica.url) || undefined, 10_000, 'the heartbeat')
        assert.match((await tab.textContent('#replicas-title ~ ul')) ?? '', /generation \d+, up \d+s, redis ok/)
        assert.match((await tab.textContent('#replicas-title ~ table')) ?? '', new RegExp(replica.url.replace(/[/.]/g, '\\$&')))
        await screenshot(tab, 'ui-overview-redis')
      } finally {
        await fresh.close()
        await clustered.stop()
        await replica.stop()
        await redis.kill()
      }
    })

    it('--no-open --json: the login link as one JSON line, and it logs in once', async () => {
      const scripted = await startUi(bed.box, ['--no-open', '--json'])
      try {
        const lines = scripted.stdout().trim().split('\n')
        assert.equal(lines.length, 1, scripted.stdout())
        const shown = JSON.parse(lines[0]) as {console: string; vault: string; login: string}
        assert.deepEqual(Object.keys(shown).sort(), ['console', 'login', 'vault'])
        assert.equal(shown.console, scripted.origin)
        assert.equal(shown.login, scripted.login)
        const headers = {host: scripted.host}
        assert.equal((await raw(shown.login, {headers})).status, 200)
        assert.equal((await raw(shown.login, {headers})).status, 403, 'a login link works once')
      } finally {
        await scripted.stop()
      }
    })

    it('an idle session ends, and the page’s own refreshes do not keep it alive', async () => {
      const short = await startUi(bed.box, ['--no-open', '--idle', '2s'])
      try {
        const login = await raw(short.login, {headers: {host: short.host}})
        const session = String(login.headers['set-cookie']).split(';')[0]
        const headers = {host: short.host, cookie: session}
        const call = async (path: string, background: boolean) => (await raw(`${short.origin}${path}`, {headers: background ? {...headers, 'x-console-background': '1'} : headers})).status
        // What the person does keeps the session past the 2 s…
        for (let i = 0; i < 6; i++) {
          assert.equal(await call('/api/keys', false), 200)
          await sleep(500)
        }
        // …what the page refreshes by itself does not.
        for (let i = 0; i < 3; i++) {
          assert.equal(await call('/api/health', true), 200)
          await sleep(500)
        }
        await sleep(700)
        assert.equal(await call('/api/health', true), 401)
        assert.equal(await call('/api/keys', false), 401)
      } finally {
        await short.stop()
      }
    })

    it('opens the browser through BROWSER with a private file, never the link on a command line; Ctrl-C stops it', async () => {
      const seen = bed.box.path('browser-args.txt')
      const fake = bed.box.path('fake-browser.sh')
      await fs.writeFile(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > '${seen}'\n`, {mode: 0o755})
      const opened = await startUi(bed.box, [], {BROWSER: fake})
      try {
        const args = (await until(() => fs.readFile(seen, 'utf8'), 5000, 'the browser to be started')).trim()
        assert.match(args, /^file:\/\/.*\/keyward\/ui\/open-\d+-[0-9a-f]+\.html$/)
        assert.doesNotMatch(args, /token/)
        const file = new URL(args).pathname
        assert.equal((await fs.stat(file)).mode & 0o777, 0o600)
        const fresh = await browser.newContext()
        const tab = await fresh.newPage()
        await tab.goto(args)
        await tab.waitForURL(`${opened.origin}/`)
        await tab.waitForSelector('body[data-ready="overview"]')
        await fresh.close()
        await until(async () => !(await fs.stat(file).then(() => true, () => false)), 3000, 'the file to be removed once used')
      } finally {
        assert.equal(await opened.stop('SIGINT'), 0)
      }
      await assert.rejects(raw(`${opened.origin}/`), /ECONNREFUSED/)
    })
  })
})

/**
 * A page on another local port that tries the console with the browser's cookies: reading the
 * key list (CORS), and a change as a "simple" cross-origin POST that needs no preflight.
 */
async function evilServer(target: string): Promise<{server: Server; url: string}> {
  const script = `
    const report = {}
    try { await fetch('${target}/api/keys', {credentials: 'include'}); report.read = 'read' } catch { report.read = 'blocked' }
    try {
      await fetch('${target}/api/keys', {method: 'POST', mode: 'no-cors', credentials: 'include', headers: {'content-type': 'text/plain'}, body: JSON.stringify({name: 'evil-no-cors', scopes: ['*']})})
      report.write = 'sent'
    } catch { report.write = 'blocked' }
    document.body.dataset.report = JSON.stringify(report)`
  const server = createServer((_req, res) => {
    res.writeHead(200, {'content-type': 'text/html'})
    res.end(`<!doctype html><html><body><script type="module">${script}</script></body></html>`)
  })
  // On the console's own address: another port of the same host, which shares its cookies.
  const host = new URL(target).hostname
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  return {server, url: `http://${host}:${(server.address() as AddressInfo).port}/`}
}
