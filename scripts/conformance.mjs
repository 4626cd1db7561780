#!/usr/bin/env node
// `npm run conformance`: the MCP conformance suites, check by check, against their own reference
// servers directly and through `keyward serve` in front of them (stateful and stateless HTTP),
// each keyward run twice against one server; and against the project's own fixtures, which
// need nothing beyond npm (so they run on every machine, CI's included, where the reference
// servers may not be at hand): test/fixtures/conformance-server.ts (SDK 1.x, 2025 era, 0.1.16
// suite) as a stdio upstream, and test/fixtures/conformance-modern.ts (SDK v2, both eras, 0.2
// suite) as a dual-era stdio upstream, as a 2026-only stdio upstream (so a 2025 client reaches
// it across keyward's bridge) and as an HTTP upstream. Exits 1 when keyward fails a check that
// the direct run passes, unless the check is listed in scripts/conformance-expected.json (the
// work still to do, named there).
//
//   --era 2026-07-28 | 2025-11-25 | all   which protocol revisions to run (default all)
//   --runs N                              runs through each keyward server (default 2)
//   --only TEXT                           only the upstreams whose id contains TEXT (e.g. fixture-v2)
//   --require-reference                   fail when a reference server is not at hand (or, for the
//                                         client scenarios, neither the reference client nor its recorded results)
//   --keep                                keep the suites' output (checks.json per scenario) and say where
//
// Then the client scenario request-metadata (2026-07-28), with keyward's upstream connection as
// the client (test/fixtures/conformance-client.ts); and the 0.1.16 client scenarios (every auth/*
// one, initialize, tools_call) with keyward signing in to an upstream as an operator does,
// compared per check with the reference client (scripts/conformance-client-suite.mjs; it runs
// locally, and where the reference client cannot be run, as on CI, it holds keyward to the
// reference's recorded results). Alone: `npm run conformance:client`.
//
// Conformance mode is `keyward serve --auth none --ratelimit-anonymous 100000/min`: every suite
// request is anonymous, and the default anonymous limit (100/min) would refuse the second run.
// See scripts/conformance-lib.mjs for how the suites and reference servers are obtained.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {parseArgs} from 'node:util'

import {runClientSuite} from './conformance-client-suite.mjs'
import {freePort, node22, referenceHelp, referenceServer, ROOT, runClientScenario, runSuite, scenariosOf, start, suite} from './conformance-lib.mjs'

const {values: flags} = parseArgs({options: {era: {type: 'string', default: 'all'}, runs: {type: 'string', default: '2'}, only: {type: 'string', default: ''}, keep: {type: 'boolean', default: false}, 'require-reference': {type: 'boolean', default: false}}})
if (!['all', '2026-07-28', '2025-11-25'].includes(flags.era)) throw new Error(`--era must be 2026-07-28, 2025-11-25 or all, not ${flags.era}`)
const RUNS = Math.max(1, Number(flags.runs) || 2)
const BIN = path.join(ROOT, 'bin', 'run.js')
const FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'conformance-server.js')
const FIXTURE_V2 = path.join(ROOT, 'dist', 'test', 'fixtures', 'conformance-modern.js')
const NEXT = '0.2.0-alpha.12'
const EXPECTED = JSON.parse(readFileSync(path.join(ROOT, 'scripts', 'conformance-expected.json'), 'utf8'))

const NEXT_RUNS = [
  {suite: NEXT, era: '2026-07-28', selection: ['--requirements', '2026-07-28', '--timeout', '20000']},
  {suite: NEXT, era: '2025-11-25', selection: ['--requirements', '2025-11-25', '--timeout', '20000']},
]

/**
 * Which suite runs which selection against which upstream. `id` names the upstream in the
 * expected list; a fixture is run directly over HTTP (`--port`) and reached by keyward over
 * `transport`, with `upstreamArgs` added on keyward's side only.
 */
const UPSTREAMS = [
  {id: 'reference-0.2', name: 'reference 0.2.0-alpha.11', reference: '0.2.0-alpha.11', transport: 'http', runs: NEXT_RUNS},
  {id: 'reference-0.1', name: 'reference 0.1.16', reference: '0.1.16', transport: 'http', runs: [{suite: '0.1.16', era: '2025-11-25', selection: ['--suite', 'all']}]},
  {id: 'fixture-stdio', name: 'fixture (stdio upstream)', fixture: FIXTURE, transport: 'stdio', runs: [{suite: '0.1.16', era: '2025-11-25', selection: ['--suite', 'all']}]},
  {id: 'fixture-v2-stdio', name: 'fixture v2 (stdio, dual-era)', fixture: FIXTURE_V2, transport: 'stdio', runs: NEXT_RUNS},
  {id: 'fixture-v2-modern-only-stdio', name: 'fixture v2 (stdio, 2026-only)', fixture: FIXTURE_V2, upstreamArgs: ['--modern-only'], transport: 'stdio', runs: NEXT_RUNS},
  {id: 'fixture-v2-http', name: 'fixture v2 (HTTP upstream)', fixture: FIXTURE_V2, transport: 'http', runs: NEXT_RUNS},
].filter((u) => u.id.includes(flags.only))

const children = []
const work = mkdtempSync(path.join(os.tmpdir(), 'keyward-conformance-'))

function globRegExp(glob) {
  return new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^$()|[\]\\{}]/g, '\\$&')).join('.*')}$`)
}
const expectations = EXPECTED.expected.map((e) => ({...e, test: (key) => globRegExp(e.match).test(key)}))

/** The upstream, started on a free port; resolves to how keyward reaches it and the URL the suite uses directly. */
async function startUpstream(upstream) {
  const port = await freePort()
  const url = `http://localhost:${port}/mcp`
  if (upstream.fixture) {
    children.push(await start(process.execPath, [upstream.fixture, '--port', String(port)], {env: process.env}, /conformance upstream on/))
    const add = upstream.transport === 'stdio' ? ['--', process.execPath, upstream.fixture, ...(upstream.upstreamArgs ?? [])] : ['--url', url]
    return {url, add}
  }
  const server = referenceServer(upstream.reference)
  if (!server) return undefined
  children.push(await start(process.execPath, [server], {env: {...process.env, PORT: String(port)}, cwd: path.dirname(server)}, /running on/))
  return {url, add: ['--url', url]}
}

/** A vault of its own with the upstream unprefixed, and `keyward serve` in conformance mode in front of it. */
async function startKeyward(label, add, stateless) {
  const home = path.join(work, label.replace(/\W+/g, '-'))
  const env = {...process.env, HOME: home, XDG_DATA_HOME: path.join(home, 'data'), XDG_CONFIG_HOME: path.join(home, 'config'), XDG_STATE_HOME: path.join(home, 'state'), NO_COLOR: '1'}
  const keyFile = path.join(work, `${label.replace(/\W+/g, '-')}.key`)
  execFileSync(process.execPath, [BIN, 'init', '--key-file-out', keyFile], {env, stdio: 'ignore'})
  env.KEYWARD_KEY_FILE = keyFile
  execFileSync(process.execPath, [BIN, 'upstream', 'add', 'conformance', '--no-prefix', ...add], {env, stdio: ['ignore', 'ignore', 'inherit']})
  const port = await freePort()
  const args = [BIN, 'serve', '--transport', 'http', '--auth', 'none', '--ratelimit-anonymous', '100000/min', '--port', String(port), ...(stateless ? ['--stateless'] : [])]
  children.push(await start(process.execPath, args, {env}, /listening on/))
  return `http://localhost:${port}/mcp`
}

/**
 * Checks that pass directly and fail through keyward (or do not run there: a scenario stopped
 * for its time counts as failed). A check keyward answers with a neutral status (an INFO such
 * as "SSE streaming is optional", a warning, a skip) is not a failure.
 */
function compare(direct, fronted, context) {
  const regressions = {expected: [], unexpected: []}
  const nowPassing = []
  for (const [check, status] of direct) {
    if (status !== 'pass') continue
    const expected = expectations.find((e) => e.test(`${context}|${check}`))
    const theirs = fronted.get(check)
    if (theirs === undefined || theirs === 'fail') (expected ? regressions.expected : regressions.unexpected).push(check)
    else if (theirs === 'pass' && expected) nowPassing.push({check, entry: expected.match})
  }
  return {regressions, nowPassing}
}

/** A run's name in the table: the suite and what it selects (not its timeout). */
const label = (r) => `${r.suite} ${r.selection.filter((a, i, all) => a !== '--timeout' && all[i - 1] !== '--timeout').join(' ')}`
const count = (checks) => `${[...checks.values()].filter((s) => s === 'pass').length}/${checks.size}`

async function runUpstream(node, upstream, rows) {
  const runs = upstream.runs.filter((r) => flags.era === 'all' || r.era === flags.era)
  if (runs.length === 0) return true
  const started = await startUpstream(upstream)
  if (!started) {
    for (const r of runs) rows.push({upstream: upstream.name, suite: label(r), mode: 'direct', result: 'UNAVAILABLE'})
    return false
  }
  const direct = new Map(runs.map((r, i) => [r, runSuite({node, cli: suite(r.suite), url: started.url, selection: r.selection, outDir: path.join(work, `${upstream.name}-${i}-direct`)})]))
  for (const r of runs) rows.push({upstream: upstream.name, suite: label(r), mode: 'direct', result: count(direct.get(r))})
  for (const mode of ['stateful', 'stateless']) {
    const url = await startKeyward(`${upstream.name}-${mode}`, started.add, mode === 'stateless')
    for (let run = 1; run <= RUNS; run++) {
      for (const [i, r] of runs.entries()) {
        // 0.1.x suites have no --timeout: run them scenario by scenario, each bounded.
        const scenarios = r.suite.startsWith('0.1.') ? scenariosOf(direct.get(r)) : undefined
        const fronted = runSuite({node, cli: suite(r.suite), url, selection: r.selection, scenarios, outDir: path.join(work, `${upstream.name}-${i}-${mode}-${run}`)})
        const context = `keyward-${mode}|${r.suite}|${r.era}|${upstream.id}`
        rows.push({upstream: upstream.name, suite: label(r), mode: `keyward ${mode} #${run}`, result: count(fronted), ...compare(direct.get(r), fronted, context)})
      }
    }
  }
  return true
}

/**
 * The client scenario request-metadata with keyward's own upstream connection as the client
 * (test/fixtures/conformance-client.ts): every check it fails is a failure, unless listed.
 */
function runClientRow(node, rows) {
  if (flags.era === '2025-11-25') return
  const command = `${process.execPath} ${path.join(ROOT, 'dist', 'test', 'fixtures', 'conformance-client.js')}`
  const checks = runClientScenario({node, cli: suite(NEXT), command, scenario: 'request-metadata', outDir: path.join(work, 'client-request-metadata')})
  const regressions = {expected: [], unexpected: []}
  for (const [check, status] of checks) {
    if (status !== 'fail') continue
    const expected = expectations.some((e) => e.test(`keyward-link|${NEXT}|2026-07-28|client|${check}`))
    ;(expected ? regressions.expected : regressions.unexpected).push(check)
  }
  rows.push({upstream: 'keyward upstream link', suite: `${NEXT} client request-metadata`, mode: 'as the client', result: count(checks), regressions})
}

/**
 * keyward as an OAuth client of its upstreams (issue 19): the 0.1.16 client scenarios, a 2025-11-25
 * suite, so not under --era 2026-07-28. Returns the checks the reference passes and keyward does not,
 * and whether there was a reference to compare with.
 */
async function runOperatorClientSuite() {
  if (flags.era === '2026-07-28' || flags.only) return {regressions: 0, compared: true}
  process.stdout.write('\nclient scenarios (0.1.16), keyward signing in to the upstream as an operator does (upstream add, upstream login, serve):\n')
  const {lines, regressions, source, compared} = await runClientSuite()
  process.stdout.write(`\nper check (reference: ${source}):\n${lines.join('\n')}\n`)
  process.stdout.write(`\n${regressions === 0 ? 'client scenarios: keyward passes every check the reference client passes' : `FAIL client scenarios: ${regressions} check(s) the reference client passes and keyward does not`}\n`)
  return {regressions, compared}
}

function report(rows) {
  const lines = ['upstream                   | suite                                  | run                  | passed   | lost vs direct (expected) | lost, unexpected']
  for (const row of rows) {
    const lost = row.regressions ? `${row.regressions.expected.length}`.padEnd(25) : ''.padEnd(25)
    const bad = row.regressions ? String(row.regressions.unexpected.length) : ''
    lines.push(`${row.upstream.padEnd(26)} | ${row.suite.padEnd(38)} | ${row.mode.padEnd(20)} | ${row.result.padEnd(8)} | ${lost} | ${bad}`)
  }
  process.stdout.write(lines.join('\n') + '\n')
  let unexpected = 0
  for (const row of rows.filter((r) => r.regressions?.unexpected.length)) {
    unexpected += row.regressions.unexpected.length
    process.stdout.write(`\nFAIL ${row.upstream}, ${row.suite}, ${row.mode}: passes directly, fails through keyward:\n  ${row.regressions.unexpected.join('\n  ')}\n`)
  }
  const freed = new Map()
  for (const {check, entry} of rows.flatMap((r) => r.nowPassing ?? [])) freed.set(entry, (freed.get(entry) ?? new Set()).add(check))
  for (const [entry, checks] of freed) {
    const some = [...checks].slice(0, 4).join(', ')
    process.stdout.write(`\nExpected to fail but passing (${checks.size} checks) under "${entry}": ${some}${checks.size > 4 ? ', …' : ''}; narrow or remove the entry when all of them pass.\n`)
  }
  return unexpected
}

try {
  const node = node22()
  const rows = []
  let missing = false
  for (const upstream of UPSTREAMS) if (!(await runUpstream(node, upstream, rows))) missing = true
  runClientRow(node, rows)
  const unexpected = report(rows)
  if (missing) process.stdout.write(`\nA reference server was not at hand, so its rows did not run: ${referenceHelp()}.\n`)
  process.stdout.write(`\n${unexpected === 0 ? 'parity: every check that passes directly passes through keyward (or is listed as expected)' : `${unexpected} checks pass directly but not through keyward`}\n`)
  const client = await runOperatorClientSuite()
  if (!client.compared) missing = true
  process.exitCode = unexpected > 0 || client.regressions > 0 || (missing && flags['require-reference']) ? 1 : 0
} finally {
  for (const child of children) child.kill('SIGTERM')
  if (flags.keep) process.stdout.write(`\nthe suites' output is in ${work}\n`)
  else rmSync(work, {recursive: true, force: true})
}
