/**
 * The console (`keyward ui`) over a day of traffic: 1,000,000 audit records written by the real
 * audit writer (src/audit) into a temporary state directory, spread over the last 24 hours, then
 * the built `keyward ui` on them, asked over loopback and drawn in Debian's chromium:
 *   - the first page interactive (data shown), from the start of the navigation;
 *   - a filtered audit query over all records (the API round trip);
 *   - the charts of the whole day drawn, from the start of the navigation.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import path from 'node:path'

import {AuditLog} from '../src/audit/index.js'
import {BIN, env, median, type Row, stopProcess, tempVault} from './util.js'

const RECORDS = Number(process.env.BENCH_UI_RECORDS ?? 1_000_000)
const DAY = 24 * 60 * 60_000
const CHROMIUM = process.env.KEYWARD_CHROMIUM ?? '/usr/bin/chromium'

const KEYS = Array.from({length: 50}, (_, i) => `k${String(i).padStart(2, '0')}bench0000`.slice(0, 12))
const TOOLS = [...['echo', 'get_time', 'hello_world'], ...Array.from({length: 30}, (_, i) => `github__tool_${i}`), ...Array.from({length: 10}, (_, i) => `pg__query_${i}`)]

/** One record of a mixed day: mostly calls, some refusals and rate-limited requests. */
function eventFor(i: number): Record<string, unknown> & {event: string} {
  const key = KEYS[i % KEYS.length]
  const who = {principal: `key:${key}`, auth: 'api_key', name: `agent-${key.slice(0, 3)}`, key}
  const r = i % 100
  if (r < 3) return {event: 'auth.failure', reason: 'not_found', status: 401, transport: 'http', peer: '127.0.0.1'}
  if (r < 5) return {event: 'authz.denied', tool: TOOLS[i % TOOLS.length], ...who, session: `s-${i % 500}`}
  if (r < 7) return {event: 'ratelimit', reason: 'rate_limited', status: 429, ...who}
  const duration = Math.round(Math.abs(Math.sin(i)) * (r === 99 ? 900 : 40) * 10) / 10
  return {event: 'tool.call', tool: TOOLS[(i * 7) % TOOLS.length], ...who, session: `s-${i % 500}`, outcome: r === 98 ? 'error' : 'ok', duration_ms: duration}
}

/**
 * Writes the records through AuditLog, with the clock moved along the last day: the writer
 * stamps each record when it is queued, so `Date` is replaced while it runs.
 */
async function writeDay(file: string, key: Buffer, stateEnv: NodeJS.ProcessEnv): Promise<number> {
  const RealDate = Date
  let now = RealDate.now() - DAY
  class DayDate extends RealDate {
    constructor(...args: []) {
      if (args.length === 0) super(now)
      else super(...(args as unknown as [number]))
    }

    static override now(): number {
      return now
    }
  }
  const started = performance.now()
  globalThis.Date = DayDate as DateConstructor
  try {
    const log = new AuditLog({file, key, maxSize: 64 * 1024 * 1024, env: stateEnv})
    const step = DAY / RECORDS
    for (let i = 0; i < RECORDS; i += 5000) {
      const batch: Promise<void>[] = []
      for (let j = i; j < Math.min(RECORDS, i + 5000); j++) {
        now += step
        batch.push(log.record(eventFor(j)))
      }
      await Promise.all(batch)
    }
    await log.close()
  } finally {
    globalThis.Date = RealDate
  }
  return performance.now() - started
}

function startUi(vault: string, keyFile: string, stateHome: string): Promise<{child: ChildProcess; login: string; origin: string}> {
  const child = spawn(process.execPath, [BIN, 'ui', '--no-open', '--port', '0'], {env: env({KEYWARD_VAULT: vault, KEYWARD_KEY_FILE: keyFile, XDG_STATE_HOME: stateHome}), stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keyward ui did not start: ${out}`)), 30_000)
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const m = /(http:\/\/127\.\d+\.\d+\.\d+:\d+)\/login\?token=\S+/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({child, login: m[0], origin: m[1]})
      }
    })
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.on('exit', (code) => reject(new Error(`keyward ui exited ${code}: ${out}`)))
  })
}

export async function benchUi(): Promise<Row[]> {
  const v = await tempVault()
  const stateHome = path.join(v.dir, 'state')
  const rows: Row[] = []
  const group = `console (keyward ui), ${RECORDS.toLocaleString('en')} audit records over a day`
  let ui: {child: ChildProcess; login: string; origin: string} | undefined
  try {
    const {auditKeyOf, resolveAuditPath} = await import('../src/audit/index.js')
    const {openVault} = await import('../src/vault/index.js')
    const vault = await openVault(v.file, v.material)
    const key = auditKeyOf(vault.data)!
    const stateEnv = {...process.env, XDG_STATE_HOME: stateHome}
    // The vault's own log, where the console looks for it.
    const file = resolveAuditPath(undefined, undefined, vault.header.vault_id, stateEnv)
    const writeMs = await writeDay(file, key, stateEnv)
    rows.push({group, metric: 'write them with the audit writer (setup)', value: writeMs / 1000, unit: 's'})
    const indexStart = performance.now()
    ui = await startUi(v.file, v.keyFile, stateHome)
    if (!existsSync(CHROMIUM)) {
      process.stderr.write(`bench: no chromium at ${CHROMIUM}; the console rows are skipped\n`)
      return rows
    }
    const {chromium} = await import('playwright-core')
    const browser = await chromium.launch({executablePath: CHROMIUM, args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']})
    try {
      const context = await browser.newContext({viewport: {width: 1360, height: 900}})
      const page = await context.newPage()
      await page.goto(ui.login)
      await page.waitForURL(`${ui.origin}/`)
      // The index is built in the background from the log; wait until it has every record.
      await page.waitForFunction(
        async (n) => {
          const r = await fetch('/api/health', {headers: {'x-console-background': '1'}})
          const body = (await r.json()) as {audit: {records: number; building: boolean}}
          return !body.audit.building && body.audit.records >= n
        },
        RECORDS,
        {timeout: 600_000, polling: 500},
      )
      rows.push({group, metric: 'read the log into the console’s index (from start)', value: (performance.now() - indexStart) / 1000, unit: 's'})
      // audit verify runs in a worker from the start; the pages are timed once it is done.
      await page.waitForFunction(async () => ((await (await fetch('/api/audit/verify', {headers: {'x-console-background': '1'}})).json()) as {status: string}).status !== 'pending', undefined, {timeout: 600_000, polling: 500})
      rows.push({group, metric: 'audit verify of every record, in a worker (from start)', value: (performance.now() - indexStart) / 1000, unit: 's'})
      rows.push(await firstPage(page, ui.origin, group))
      rows.push(await auditQuery(page, group))
      rows.push(await dayCharts(page, ui.origin, group))
    } finally {
      await browser.close()
    }
  } finally {
    if (ui) await stopProcess(ui.child)
    v.cleanup()
  }
  return rows
}

/** Milliseconds from the start of navigation until the page marks itself ready, median of the later runs. */
async function readyMs(page: import('playwright-core').Page, url: string, marker: string, runs = 11): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    await page.goto('about:blank')
    await page.goto(url)
    await page.waitForSelector(marker)
    times.push(Number(await page.getAttribute('body', 'data-ready-ms')))
  }
  return median(times.slice(2))
}

/**
 * The overview (the first page), from the start of navigation to its data and charts on screen,
 * against a bare page (static HTML and one script, from a bare node:http server) in the same
 * browser: what the browser itself costs on this machine now.
 */
async function firstPage(page: import('playwright-core').Page, origin: string, group: string): Promise<Row> {
  const bare = createServer((req, res) => {
    if (req.url === '/a.js') {
      res.writeHead(200, {'content-type': 'text/javascript'})
      return res.end('document.body.dataset.readyMs = String(Math.round(performance.now())); document.body.dataset.ready = "bare"')
    }
    res.writeHead(200, {'content-type': 'text/html'})
    res.end('<!doctype html><html><head><script type="module" src="/a.js"></script></head><body>bare</body></html>')
  })
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve))
  try {
    const baseline = await readyMs(page, `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`, 'body[data-ready="bare"]')
    const ms = await readyMs(page, `${origin}/#/overview`, 'body[data-ready="overview"]')
    return {group, metric: 'first page (overview, charts drawn) interactive, loopback', value: ms, unit: 'ms', baseline: {name: 'bare page', value: baseline}, ratio: ms / baseline, target: '< 300 ms', pass: ms < 300}
  } finally {
    bare.close()
  }
}

/** A filtered, paged query of the audit view, as the page asks it, timed in the page (the whole round trip). */
async function auditQuery(page: import('playwright-core').Page, group: string): Promise<Row> {
  const filters = [
    `key=key:${KEYS[7]}&event=tool.call`,
    'tool=github__*&outcome=error',
    `event=auth&from=${Date.now() - 6 * 3_600_000}`,
    `key=key:${KEYS[3]}&tool=pg__query_4&from=${Date.now() - 12 * 3_600_000}&to=${Date.now() - 3_600_000}`,
  ]
  const times = (await page.evaluate(async (qs) => {
    const out: number[] = []
    for (let round = 0; round < 5; round++) {
      for (const q of qs) {
        const t = performance.now()
        const r = await fetch(`/api/audit?${q}&limit=50`)
        await r.json()
        out.push(performance.now() - t)
      }
    }
    return out
  }, filters)) as number[]
  const ms = median(times.slice(filters.length))
  return {group, metric: 'filtered audit query over all records (50 rows, with the total)', value: ms, unit: 'ms', target: '< 200 ms', pass: ms < 200}
}

/** The day's charts, from the start of navigation until the last of the three is drawn. */
async function dayCharts(page: import('playwright-core').Page, origin: string, group: string): Promise<Row> {
  const times: number[] = []
  for (let i = 0; i < 5; i++) {
    await page.goto('about:blank')
    await page.goto(`${origin}/#/overview/day`)
    for (const id of ['chart-totals', 'chart-keys', 'chart-tools']) await page.waitForSelector(`#${id}[data-drawn="true"]`)
    const drawn = await Promise.all(['chart-totals', 'chart-keys', 'chart-tools'].map(async (id) => Number(await page.getAttribute(`#${id}`, 'data-drawn-ms'))))
    times.push(Math.max(...drawn))
  }
  const ms = median(times.slice(1))
  return {group, metric: 'charts of the day drawn (calls, per key, per tool)', value: ms, unit: 'ms', target: '< 500 ms', pass: ms < 500}
}
