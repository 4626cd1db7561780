/**
 * `npm run bench`: every benchmark, each against a baseline measured in the same run.
 * Prints a table and writes bench/results/<timestamp>.json (and latest.json).
 *   BENCH_ONLY=vault,verify,serve,era,gateway,sessions,oauth,hostile,protect,cluster,ui   run a subset;  BENCH_DURATION=8   seconds per load test
 *   BENCH_ISOLATED_SESSIONS=10   sessions of the isolation-session row (each starts 3 processes)
 */
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {benchCluster} from './cluster.js'
import {benchEra} from './era.js'
import {benchGateway} from './gateway.js'
import {benchHostile} from './hostile.js'
import {benchProtect} from './protect.js'
import {benchServe} from './serve.js'
import {benchSessions} from './sessions.js'
import {benchUpstreamOAuth} from './upstream-oauth.js'
import {benchUi} from './ui.js'
import {ROOT, type Row} from './util.js'
import {benchVault} from './vault.js'
import {benchVerify} from './verify.js'

// What keyward remembers per user (the rollback ledger, audit markers) goes to a directory of
// this run's own: the benchmarks create vaults, which must not pile up in the user's ledger, and
// a command timed here reads the ledger a user with a few vaults has, not the developer's.
const stateHome = mkdtempSync(path.join(os.tmpdir(), 'keyward-bench-state-'))
process.env.XDG_STATE_HOME = stateHome
process.on('exit', () => rmSync(stateHome, {recursive: true, force: true}))

const only = (process.env.BENCH_ONLY ?? 'vault,verify,serve,era,gateway,sessions,oauth,hostile,protect,cluster,ui').split(',')
const suites: [string, () => Promise<Row[]>][] = [
  ['vault', benchVault],
  ['verify', benchVerify],
  ['serve', benchServe],
  ['era', benchEra],
  ['gateway', benchGateway],
  ['sessions', benchSessions],
  ['oauth', benchUpstreamOAuth],
  ['hostile', benchHostile],
  ['protect', benchProtect],
  ['cluster', benchCluster],
  ['ui', benchUi],
]

const rows: Row[] = []
for (const [name, suite] of suites) {
  if (!only.includes(name)) continue
  process.stderr.write(`bench: ${name}…\n`)
  rows.push(...(await suite()))
}

const fmt = (n: number) => (n >= 1000 ? Math.round(n).toLocaleString('en') : n >= 10 ? n.toFixed(1) : n.toFixed(2))
let group = ''
const lines: string[] = []
for (const r of rows) {
  if (r.group !== group) {
    group = r.group
    lines.push('', group)
  }
  const base = r.baseline ? `  vs ${r.baseline.name} ${fmt(r.baseline.value)} ${r.unit}: ${r.ratio!.toFixed(2)}x` : ''
  const verdict = r.target ? `  [target ${r.target}${r.pass === undefined ? '' : r.pass ? ': PASS' : ': FAIL'}]` : ''
  lines.push(`  ${r.metric.padEnd(64)} ${fmt(r.value).padStart(10)} ${r.unit}${base}${verdict}`)
}
process.stdout.write(lines.join('\n') + '\n')

const machine = {node: process.version, platform: `${os.platform()} ${os.arch()}`, cpus: os.cpus().length, cpu: os.cpus()[0]?.model}
const report = {date: new Date().toISOString(), machine, rows}
const dir = path.join(ROOT, 'bench', 'results')
mkdirSync(dir, {recursive: true})
const name = `${report.date.replace(/[:.]/g, '-')}.json`
writeFileSync(path.join(dir, name), JSON.stringify(report, null, 2) + '\n')
writeFileSync(path.join(dir, 'latest.json'), JSON.stringify(report, null, 2) + '\n')
process.stdout.write(`\nwrote bench/results/${name}\n`)
if (rows.some((r) => r.pass === false)) process.exitCode = 1
