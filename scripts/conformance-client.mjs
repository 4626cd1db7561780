#!/usr/bin/env node
// A conformance-suite client that does what an operator does with keyward, for the MCP
// conformance suite's client scenarios (`conformance client --command "node THIS" --scenario …`,
// which appends the scenario's server URL and sets MCP_CONFORMANCE_SCENARIO and, for some,
// MCP_CONFORMANCE_CONTEXT):
//
//   1. `keyward upstream add s --url URL` with the OAuth flags the scenario calls for (client
//      secrets and keys go in the vault with `keyward secrets set`, from stdin);
//   2. `keyward upstream login s` with BROWSER set to this script (`--browser URL`), which follows
//      the authorization server's redirects back to keyward's loopback listener, as a person
//      clicking "allow" would;
//   3. `keyward serve` (HTTP, --auth none, loopback), and an MCP client through it that lists the
//      upstream's tools and calls each one. When keyward reports that the upstream needs a login
//      with a wider scope (403 insufficient_scope), the operator logs in again, at most twice.
//
// It exits 0 when every call succeeded. Needs the built CLI (npm run build).
import {execFileSync, spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const SELF = fileURLToPath(import.meta.url)
const ROOT = path.resolve(path.dirname(SELF), '..')
const BIN = path.join(ROOT, 'bin', 'run.js')
const CIMD_URL = 'https://conformance-test.local/client-metadata.json'
const MAX_RELOGINS = 2

/** `--browser URL`: follow redirects until the loopback callback, then call it. */
async function browse(start) {
  let url = new URL(start)
  for (let hop = 0; hop < 10; hop++) {
    const response = await fetch(url, {redirect: 'manual'})
    await response.text()
    const location = response.headers.get('location')
    if (url.hostname === '127.0.0.1' && url.pathname === '/callback') return
    if (!location) throw new Error(`no redirect from ${url.origin}${url.pathname} (HTTP ${response.status})`)
    url = new URL(location, url)
  }
  throw new Error('too many redirects')
}

function keyward(env, args, input) {
  return execFileSync(process.execPath, [BIN, ...args], {env, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'inherit'], timeout: 20_000})
}

/** The flags an operator gives `upstream add` for this scenario; secrets go in the vault first. */
function addFlags(env, scenario, context) {
  const secret = (name, value) => keyward(env, ['secrets', 'set', name], value)
  switch (scenario) {
    case 'initialize':
    case 'tools_call':
      return []
    case 'auth/client-credentials-basic':
      secret('CLIENT_SECRET', context.client_secret)
      return ['--grant', 'client_credentials', '--client-id', context.client_id, '--client-secret', 'secret:CLIENT_SECRET']
    case 'auth/client-credentials-jwt':
      secret('CLIENT_KEY', context.private_key_pem)
      return ['--grant', 'client_credentials', '--client-id', context.client_id, '--client-key', 'secret:CLIENT_KEY']
    case 'auth/cross-app-access-complete-flow':
      secret('CLIENT_SECRET', context.client_secret)
      secret('ID_TOKEN', context.idp_id_token)
      return ['--grant', 'cross_app_access', '--client-id', context.client_id, '--client-secret', 'secret:CLIENT_SECRET', '--idp-token-endpoint', context.idp_token_endpoint, '--idp-client-id', context.idp_client_id, '--id-token', 'secret:ID_TOKEN']
    case 'auth/pre-registration':
      secret('CLIENT_SECRET', context.client_secret)
      return ['--oauth', '--client-id', context.client_id, '--client-secret', 'secret:CLIENT_SECRET']
    default:
      // Like the reference client: a metadata document where the server takes one, else registration.
      return ['--oauth', '--client-metadata-url', CIMD_URL]
  }
}

function startServe(env) {
  const child = spawn(process.execPath, [BIN, 'serve', '--transport', 'http', '--port', '0', '--auth', 'none'], {env, stdio: ['ignore', 'ignore', 'pipe']})
  let log = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keyward serve did not start:\n${log}`)), 10_000)
    child.stderr.setEncoding('utf8').on('data', (d) => {
      log += d
      process.stderr.write(d)
      const match = /listening on (http:\/\/\S+)/.exec(log)
      if (match) {
        clearTimeout(timer)
        resolve({child, url: match[1]})
      }
    })
    child.on('exit', (code) => reject(new Error(`keyward serve exited with ${code}:\n${log}`)))
  })
}

/** Arguments from a tool's input schema: numbers 1, strings "test", and so on. */
function argumentsFor(schema) {
  const out = {}
  for (const [name, property] of Object.entries(schema?.properties ?? {})) {
    if (!(schema.required ?? []).includes(name)) continue
    const type = Array.isArray(property?.type) ? property.type[0] : property?.type
    out[name] = type === 'number' || type === 'integer' ? 1 : type === 'boolean' ? true : type === 'array' ? [] : type === 'object' ? {} : 'test'
  }
  return out
}

const needsLogin = (text) => /needs a new login/.test(text)

async function callEverything(url) {
  const {Client} = await import('@modelcontextprotocol/sdk/client/index.js')
  const {StreamableHTTPClientTransport} = await import('@modelcontextprotocol/sdk/client/streamableHttp.js')
  const client = new Client({name: 'keyward-conformance', version: '1.0.0'})
  await client.connect(new StreamableHTTPClientTransport(new URL(url)))
  try {
    const tools = (await client.listTools()).tools.filter((t) => t.name.startsWith('s__'))
    const failures = []
    for (const tool of tools) {
      const result = await client.callTool({name: tool.name, arguments: argumentsFor(tool.inputSchema)})
      if (result.isError) failures.push(result.content.map((c) => c.text ?? '').join(' '))
    }
    return {tools: tools.length, failures}
  } finally {
    await client.close().catch(() => {})
  }
}

async function operate(serverUrl) {
  const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? ''
  const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT ?? '{}')
  const home = mkdtempSync(path.join(os.tmpdir(), 'keyward-conformance-client-'))
  const env = {...process.env, HOME: home, XDG_DATA_HOME: path.join(home, 'data'), XDG_CONFIG_HOME: path.join(home, 'config'), XDG_STATE_HOME: path.join(home, 'state'), NO_COLOR: '1', BROWSER: `"${process.execPath}" "${SELF}" --browser`}
  delete env.KEYWARD_VAULT
  let serve
  try {
    const keyFile = path.join(home, 'vault.key')
    keyward(env, ['init', '--key-file-out', keyFile])
    env.KEYWARD_KEY_FILE = keyFile
    const flags = addFlags(env, scenario, context)
    keyward(env, ['upstream', 'add', 's', '--url', serverUrl, ...flags])
    const oauth = flags.length > 0
    const login = () => keyward(env, ['upstream', 'login', 's', '--timeout', '20s'])
    if (oauth) login()
    serve = await startServe(env)
    for (let relogins = 0; ; relogins++) {
      const {tools, failures} = await callEverything(serve.url)
      const show = oauth ? JSON.parse(keyward(env, ['upstream', 'show', 's', '--json'])).upstream.oauth : undefined
      const wantsLogin = show?.needsLogin || failures.some(needsLogin)
      if (!wantsLogin) {
        // The initialize scenario's server offers no tools; every other one does.
        if (tools === 0 && scenario !== 'initialize') throw new Error('keyward serves no tool of the upstream')
        if (failures.length > 0) throw new Error(`tool calls failed: ${failures.join('; ')}`)
        return
      }
      if (relogins >= MAX_RELOGINS) throw new Error(`the upstream still needs a login after ${relogins} more: ${show?.needsLoginReason ?? failures.join('; ')}`)
      login()
      // serve restarts the upstream when it sees the new login in the vault.
      await new Promise((resolve) => setTimeout(resolve, 1500))
    }
  } finally {
    // serve writes its last audit records as it stops: wait for it before removing its home.
    if (serve && serve.child.exitCode === null) await new Promise((resolve) => serve.child.once('exit', resolve).kill('SIGTERM'))
    rmSync(home, {recursive: true, force: true, maxRetries: 10, retryDelay: 100})
  }
}

if (process.argv[2] === '--browser') {
  await browse(process.argv[3])
} else {
  try {
    await operate(process.argv[2])
  } catch (err) {
    process.stderr.write(`conformance client: ${err.message}\n`)
    process.exitCode = 1
  }
}
