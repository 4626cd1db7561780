#!/usr/bin/env node
// The MCP conformance suite's client scenarios (0.1.16: every auth/* scenario, initialize and
// tools_call) against keyward as an operator uses it (scripts/conformance-client.mjs: upstream
// add, upstream login, a client through keyward serve), compared per check with the reference
// client, the conformance repository's examples/clients/typescript/everything-client.ts at the
// same tag. keyward must pass every check the reference passes; the script exits 1 otherwise.
//
// The reference runs only where a checkout of the conformance repository at v0.1.16, with its
// dependencies installed, is named by CONFORMANCE_REFERENCE_DIR (the CI machine cannot reach
// GitHub). Without it, its rows say UNAVAILABLE and keyward is compared with the reference's
// results recorded in scripts/conformance-client-reference.json; `--record` rewrites that file
// from a live reference run. keyward's own rows always run.
//
// Run: node scripts/conformance-client-suite.mjs [--scenario NAME]... [--record]
// `npm run conformance` (scripts/conformance.mjs) runs it too, after the server suites.
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {node22, ROOT, suite} from './conformance-lib.mjs'

const CLIENT = path.join(ROOT, 'scripts', 'conformance-client.mjs')
const RECORDED = path.join(ROOT, 'scripts', 'conformance-client-reference.json')
const VERSION = '0.1.16'
/** Checks that say what happened, not whether it was right: left out of the comparison. */
const INFO = new Set(['INFO'])
const RANK = {FAILURE: 3, WARNING: 2, SUCCESS: 1, INFO: 0, SKIPPED: 0}

/** The client scenarios this version of the suite lists: auth/*, initialize and tools_call. */
function scenarios(node, cli) {
  const out = execFileSync(node, [cli, 'list'], {encoding: 'utf8'})
  const client = out.slice(out.indexOf('Client scenarios'))
  const names = [...client.matchAll(/^\s+- (\S+)/gm)].map((m) => m[1])
  return names.filter((n) => n.startsWith('auth/') || n === 'initialize' || n === 'tools_call')
}

/** Runs one scenario with `command`; returns check id -> worst status, plus `overall`. */
function runScenario(node, cli, command, scenario, cwd) {
  return new Promise((resolve) => {
    const child = spawn(node, [cli, 'client', '--command', command, '--scenario', scenario, '--verbose', '--timeout', '45000'], {cwd, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    child.on('close', () => {
      const checks = new Map()
      const start = stdout.indexOf('[')
      const end = stdout.lastIndexOf(']')
      let parsed = []
      try {
        parsed = JSON.parse(stdout.slice(start, end + 1))
      } catch {
        checks.set('checks-reported', 'FAILURE')
      }
      for (const check of parsed) {
        const was = checks.get(check.id)
        if (!was || RANK[check.status] > RANK[was]) checks.set(check.id, check.status)
      }
      const overall = /OVERALL: PASSED/.test(stdout + stderr) ? 'SUCCESS' : 'FAILURE'
      checks.set('overall', overall)
      resolve({checks, log: stderr})
    })
  })
}

function referenceCommand() {
  const dir = process.env.CONFORMANCE_REFERENCE_DIR
  if (!dir) return {why: 'set CONFORMANCE_REFERENCE_DIR to a checkout of the conformance repository at v0.1.16 with its dependencies installed'}
  const tsx = path.join(dir, 'node_modules', '.bin', 'tsx')
  const client = path.join(dir, 'examples', 'clients', 'typescript', 'everything-client.ts')
  if (!existsSync(tsx) || !existsSync(client)) return {why: `${dir} has no examples/clients/typescript/everything-client.ts or no node_modules/.bin/tsx (run npm ci there)`}
  return {command: `${tsx} ${client}`, cwd: dir}
}

function recorded() {
  if (!existsSync(RECORDED)) return undefined
  const data = JSON.parse(readFileSync(RECORDED, 'utf8'))
  if (data.version !== VERSION) return undefined
  return {recordedAt: data.recordedAt, scenarios: new Map(Object.entries(data.scenarios).map(([s, c]) => [s, new Map(Object.entries(c))]))}
}

/** Runs the scenarios (all, or `only`); returns the per-check lines, the regressions against the reference, and where its results came from. */
export async function runClientSuite({only = [], record = false, log = (s) => process.stdout.write(s)} = {}) {
  const node = node22()
  const cli = suite(VERSION)
  const names = only.length > 0 ? only : scenarios(node, cli)
  const reference = referenceCommand()
  const saved = reference.command ? undefined : recorded()
  if (record && !reference.command) throw new Error(`--record needs the live reference: ${reference.why}`)
  const keywardCommand = `${process.execPath} ${CLIENT}`
  const results = new Map()
  let regressions = 0
  const lines = []
  for (const scenario of names) {
    const mine = await runScenario(node, cli, keywardCommand, scenario, ROOT)
    const theirs = reference.command ? (await runScenario(node, cli, reference.command, scenario, reference.cwd)).checks : saved?.scenarios.get(scenario)
    results.set(scenario, theirs)
    const ids = new Set([...(theirs?.keys() ?? []), ...mine.checks.keys()])
    let scenarioOk = true
    for (const id of [...ids].sort((a, b) => (a === 'overall' ? 1 : b === 'overall' ? -1 : a.localeCompare(b)))) {
      const r = theirs?.get(id)
      const k = mine.checks.get(id) ?? 'MISSING'
      if (INFO.has(r) && INFO.has(k)) continue
      const regression = r === 'SUCCESS' && k !== 'SUCCESS'
      if (regression) {
        regressions++
        scenarioOk = false
      }
      lines.push(`${regression ? 'FAIL' : 'ok  '} ${scenario.padEnd(44)} ${id.padEnd(40)} reference ${(r ?? (reference.command ? 'MISSING' : 'UNAVAILABLE')).padEnd(11)} keyward ${k}`)
    }
    log(`${scenarioOk ? 'ok  ' : 'FAIL'} ${scenario}: keyward ${mine.checks.get('overall') === 'SUCCESS' ? 'passes' : 'fails'}; reference ${theirs ? (theirs.get('overall') === 'SUCCESS' ? 'passes' : 'fails') : 'UNAVAILABLE'}\n`)
    if (!scenarioOk && process.env.DEBUG) log(mine.log.slice(-4000))
  }
  const source = reference.command ? `live reference (${reference.command})` : saved ? `UNAVAILABLE live (${reference.why}); compared with the reference's results recorded ${saved.recordedAt}` : `UNAVAILABLE (${reference.why}; no recorded results for ${VERSION})`
  if (record) {
    const scenariosOut = Object.fromEntries([...results].map(([s, c]) => [s, Object.fromEntries(c ?? [])]))
    writeFileSync(RECORDED, JSON.stringify({version: VERSION, client: 'examples/clients/typescript/everything-client.ts', recordedAt: new Date().toISOString().slice(0, 10), scenarios: scenariosOut}, null, 2) + '\n')
  }
  // compared: false when neither the live reference nor recorded results were at hand (nothing to hold keyward to).
  return {lines, regressions, source, compared: Boolean(reference.command || saved)}
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const only = args.flatMap((a, i) => (args[i - 1] === '--scenario' ? [a] : []))
  const {lines, regressions, source} = await runClientSuite({only, record: args.includes('--record')})
  process.stdout.write(`\nper check (reference: ${source}):\n${lines.join('\n')}\n\n${regressions === 0 ? 'keyward passes every check the reference passes' : `${regressions} check(s) the reference passes and keyward does not`}\n`)
  process.exitCode = regressions === 0 ? 0 : 1
}
