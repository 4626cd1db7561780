/**
 * `upstream list` and `show` say which protocol era each upstream speaks (issue 21, item 3), as
 * `upstream test` last found it and recorded it in the vault: the built CLI against a
 * 2026-07-28-only upstream (test/fixtures/dual-era-upstream.ts --modern-only), a dual-era one
 * (the same fixture, reached in 2026-07-28 by server/discover) and a 2025-only one
 * (test/fixtures/upstream-server.ts); `upstream add` records it too. Recording it is no change of the definition: a running
 * serve keeps the upstream's process.
 */
import assert from 'node:assert/strict'
import path from 'node:path'

import {Bed} from '../helpers/bed.js'
import {json, ROOT, sleep} from '../helpers/cli.js'

const LEGACY_FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'upstream-server.js')
const DUAL_FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'dual-era-upstream.js')
const textOf = (r: unknown) => ((r as {content?: {text: string}[]}).content?.[0]?.text ?? '')

interface Listed {
  name: string
  tested: {era: string; protocolVersion: string; at: string} | null
  updated: string
}

/** The ERA cell of each row of `upstream list`, by name. */
function eraColumn(table: string): Record<string, string> {
  const [header, ...rows] = table.trim().split('\n')
  const names = header.split(/\s{2,}/)
  const era = names.indexOf('ERA')
  assert.equal(names[1], 'TRANSPORT')
  assert.equal(era, 2, header)
  return Object.fromEntries(rows.filter((r) => !r.startsWith('ERA -')).map((r) => [r.split(/\s+/)[0], r.split(/\s{2,}/)[era]]))
}

describe('upstream list and show: the era upstream test found (issue 21)', function () {
  this.timeout(120_000)
  const bed = new Bed()

  before(async () => {
    await bed.setUp()
    await bed.cli(['upstream', 'add', 'legacy', '--skip-check', '--', process.execPath, LEGACY_FIXTURE])
    await bed.cli(['upstream', 'add', 'modern', '--skip-check', '--', process.execPath, DUAL_FIXTURE, '--modern-only'])
    await bed.cli(['upstream', 'add', 'dual', '--skip-check', '--', process.execPath, DUAL_FIXTURE])
  })

  after(async () => {
    await bed.tearDown()
  })

  const listed = async () => Object.fromEntries((json<{upstreams: Listed[]}>(await bed.cli(['upstream', 'list', '--json'])).upstreams).map((u) => [u.name, u]))

  it('before any test: ERA -, a hint naming the command, and tested null under --json', async () => {
    const out = (await bed.cli(['upstream', 'list'])).stdout
    assert.deepEqual(eraColumn(out), {dual: '-', legacy: '-', modern: '-'})
    assert.match(out, /^ERA -: not tested yet \(dual, legacy, modern\); run `keyward upstream test NAME` to find which MCP revision it speaks\.$/m)
    for (const u of Object.values(await listed())) assert.equal(u.tested, null, u.name)
    assert.match((await bed.cli(['upstream', 'show', 'modern'])).stdout, /^era\s+- \(not tested yet; run `keyward upstream test modern`\)$/m)
  })

  it('upstream test records the era and the revision; list and show say them; a running serve keeps the upstream', async () => {
    const key = await bed.key('era')
    const serve = await bed.serve()
    const client = await bed.connect(serve.url, key)
    const processOf = async () => {
      const proc = JSON.parse(textOf(await client.callTool({name: 'legacy__get_process', arguments: {}}))) as {pid: number; pidns: string}
      return `${proc.pidns}/${proc.pid}`
    }
    const running = await processOf()
    const reloads = () => serve.logs().split('reloaded ').length
    const before = await listed()
    const started = new Date().toISOString()

    const tests: [string, RegExp, {era: string; protocolVersion: string}][] = [
      ['modern', /^modern \(dual-era-fixture 1\.0\.0\): MCP 2026-07-28;/m, {era: 'modern', protocolVersion: '2026-07-28'}],
      ['dual', /^dual \(dual-era-fixture 1\.0\.0\): MCP 2026-07-28;/m, {era: 'modern', protocolVersion: '2026-07-28'}],
    ]
    for (const [name, printed] of tests) {
      const r = await bed.cli(['upstream', 'test', name])
      assert.match(r.stdout, printed, r.stdout)
    }
    const seen = reloads()
    const tested = json<{tested: Listed['tested']; era: string; protocolVersion: string}>(await bed.cli(['upstream', 'test', 'legacy', '--json']))
    assert.deepEqual({era: tested.tested?.era, protocolVersion: tested.tested?.protocolVersion}, {era: 'legacy', protocolVersion: '2025-11-25'})
    assert.deepEqual([tested.era, tested.protocolVersion], ['legacy', '2025-11-25'])

    const after = await listed()
    for (const [name, found] of [...tests.map(([n, , f]) => [n, f] as const), ['legacy', {era: 'legacy', protocolVersion: '2025-11-25'}] as const]) {
      const t = after[name].tested!
      assert.deepEqual({era: t.era, protocolVersion: t.protocolVersion}, found, name)
      assert.ok(t.at >= started && t.at <= new Date().toISOString(), t.at)
      assert.equal(after[name].updated, before[name].updated, `${name}: recording its era is no change of its definition`)
    }
    const out = (await bed.cli(['upstream', 'list'])).stdout
    assert.deepEqual(eraColumn(out), {dual: '2026-07-28', legacy: '2025-11-25', modern: '2026-07-28'})
    assert.doesNotMatch(out, /not tested yet/)
    assert.match((await bed.cli(['upstream', 'show', 'modern'])).stdout, /^era\s+2026-07-28 \(tested \d{4}-\d\d-\d\d \d\d:\d\dZ\)$/m)
    assert.match((await bed.cli(['upstream', 'show', 'dual'])).stdout, /^era\s+2026-07-28 \(tested /m)
    assert.deepEqual(json<{upstream: Listed}>(await bed.cli(['upstream', 'show', 'modern', '--json'])).upstream.tested, after.modern.tested)

    // serve read the vault again, and kept the upstream running: the same process answers.
    for (let t = 0; t < 100 && reloads() <= seen; t++) await sleep(50)
    assert.ok(reloads() > seen, 'serve reloaded the vault')
    await sleep(500)
    assert.equal(await processOf(), running, 'the same upstream process')
    assert.doesNotMatch(serve.logs(), /upstream \w+ changed: restarting it/)
  })

  it('upstream add, which starts the upstream once, records its era too', async () => {
    const added = json<{upstream: Listed}>(await bed.cli(['upstream', 'add', 'fresh', '--json', '--', process.execPath, DUAL_FIXTURE, '--modern-only']))
    assert.equal(added.upstream.tested?.protocolVersion, '2026-07-28')
    assert.deepEqual((await listed()).fresh.tested, added.upstream.tested)
    assert.equal(eraColumn((await bed.cli(['upstream', 'list'])).stdout).fresh, '2026-07-28')
  })

  it('a definition replaced since is not the one tested: its era is unknown again', async () => {
    await bed.cli(['upstream', 'add', 'dual', '--replace', '--skip-check', '--', process.execPath, LEGACY_FIXTURE])
    assert.equal((await listed()).dual.tested, null)
    assert.equal(eraColumn((await bed.cli(['upstream', 'list'])).stdout).dual, '-')
    await bed.cli(['upstream', 'test', 'dual'])
    assert.equal((await listed()).dual.tested?.protocolVersion, '2025-11-25')
  })
})
