/**
 * tools/call of `echo` under load (autocannon, on this machine) against a bare MCP SDK server
 * measured in the same run, and the time from spawn to the first initialize response over stdio.
 */
import {spawn} from 'node:child_process'
import path from 'node:path'

import autocannon from 'autocannon'

import {createKey} from '../src/keys/index.js'
import {updateVault} from '../src/vault/index.js'
import {BIN, env, median, ROOT, startProcess, stopProcess, tempVault, type Row} from './util.js'

const CONNECTIONS = 10
const WARMUP_S = 2
const DURATION_S = Number(process.env.BENCH_DURATION ?? 8)
const INIT = {jsonrpc: '2.0', id: 0, method: 'initialize', params: {protocolVersion: '2025-11-25', capabilities: {}, clientInfo: {name: 'bench', version: '1'}}}

interface Load {
  rps: number
  p50: number
  p99: number
  errors: number
}

async function openSession(url: string, headers: Record<string, string>): Promise<string | undefined> {
  const res = await fetch(url, {method: 'POST', headers: {...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream'}, body: JSON.stringify(INIT)})
  await res.text()
  if (!res.ok) throw new Error(`initialize: HTTP ${res.status}`)
  const sessionId = res.headers.get('mcp-session-id') ?? undefined
  const sessionHeaders: Record<string, string> = sessionId ? {'mcp-session-id': sessionId} : {}
  await fetch(url, {
    method: 'POST',
    headers: {...headers, ...sessionHeaders, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25'},
    body: JSON.stringify({jsonrpc: '2.0', method: 'notifications/initialized'}),
  }).then((r) => r.text())
  return sessionId
}

async function load(url: string, auth: Record<string, string>, seconds: number): Promise<Load> {
  const sessionId = await openSession(url, auth)
  let id = 0
  const headers = {
    ...auth,
    ...(sessionId ? {'mcp-session-id': sessionId} : {}),
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2025-11-25',
  }
  // One checked call first: a fast error is not a result.
  const probe = await fetch(url, {method: 'POST', headers, body: JSON.stringify({jsonrpc: '2.0', id: 0, method: 'tools/call', params: {name: 'echo', arguments: {message: 'hello'}}})})
  const probeText = await probe.text()
  if (!probe.ok || !probeText.includes('"text":"hello"')) throw new Error(`${url}: tools/call did not echo (HTTP ${probe.status}): ${probeText.slice(0, 200)}`)
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        headers,
        // A fresh JSON-RPC id per request: ids must not repeat within a session.
        setupRequest: (req: autocannon.Request) => ({...req, body: JSON.stringify({jsonrpc: '2.0', id: ++id, method: 'tools/call', params: {name: 'echo', arguments: {message: 'hello'}}})}),
      },
    ],
  })
  return {rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx}
}

async function measure(command: string, args: string[], processEnv: NodeJS.ProcessEnv, url: string, auth: Record<string, string>): Promise<Load> {
  const child = await startProcess(command, args, processEnv, /listening on/)
  try {
    await load(url, auth, WARMUP_S)
    return await load(url, auth, DURATION_S)
  } finally {
    await stopProcess(child)
  }
}

function timeToInitialize(command: string, args: string[], processEnv: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint()
    const child = spawn(command, args, {env: processEnv, stdio: ['pipe', 'pipe', 'ignore']})
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d
      if (out.includes('"id":0')) {
        const ms = Number(process.hrtime.bigint() - start) / 1e6
        child.kill('SIGKILL')
        resolve(ms)
      }
    })
    child.on('exit', (code) => {
      if (!out.includes('"id":0')) reject(new Error(`${args.join(' ')} exited ${code} before answering`))
    })
    child.stdin.write(JSON.stringify(INIT) + '\n')
  })
}

export async function benchServe(): Promise<Row[]> {
  const {file, keyFile, material, cleanup} = await tempVault()
  try {
    const {key} = await updateVault(file, material, (vault) => createKey(vault.data, {name: 'bench', scopes: ['full']}))
    const kwEnv = env({KEYWARD_VAULT: file, KEYWARD_KEY_FILE: keyFile, KEYWARD_API_KEY: key})
    const baseline = path.join(ROOT, 'dist', 'bench', 'baselines')
    const auth = {authorization: `Bearer ${key}`}
    const rows: Row[] = []
    const group = `tools/call echo over HTTP (${CONNECTIONS} connections, ${DURATION_S} s)`

    for (const mode of ['stateful', 'stateless'] as const) {
      const port = 18_000 + Math.floor(Math.random() * 2000)
      const url = `http://127.0.0.1:${port}/mcp`
      const bare = await measure(process.execPath, [path.join(baseline, 'sdk-http.js'), String(port), mode], env({}), url, {})
      const kwArgs = [BIN, 'serve', '--transport', 'http', '--port', String(port), ...(mode === 'stateless' ? ['--stateless'] : [])]
      const kw = await measure(process.execPath, kwArgs, kwEnv, url, auth)
      const ratio = kw.rps / bare.rps
      const wanted = mode === 'stateful' ? 1.4 : 2
      rows.push(
        {group, metric: `bare SDK, ${mode}${mode === 'stateless' ? ' (new server per request)' : ''}: p50 ${bare.p50} ms, p99 ${bare.p99} ms`, value: bare.rps, unit: 'req/s', ...(bare.errors ? {target: `${bare.errors} errors`} : {})},
        {
          group,
          metric: `keyward, ${mode}, API key auth: p50 ${kw.p50} ms, p99 ${kw.p99} ms${kw.errors ? `, ${kw.errors} errors` : ''}`,
          value: kw.rps,
          unit: 'req/s',
          baseline: {name: `bare SDK ${mode}`, value: bare.rps},
          ratio,
          target: `>= ${wanted}x bare SDK`,
          pass: ratio >= wanted && kw.errors === 0,
        },
      )
    }

    const bareTimes: number[] = []
    const kwTimes: number[] = []
    for (let i = 0; i < 10; i++) {
      bareTimes.push(await timeToInitialize(process.execPath, [path.join(baseline, 'sdk-stdio.js')], env({})))
      kwTimes.push(await timeToInitialize(process.execPath, [BIN, 'serve', '--transport', 'stdio', '--quiet'], kwEnv))
    }
    const bareMs = median(bareTimes)
    const kwMs = median(kwTimes)
    rows.push(
      {group: 'stdio: spawn to first initialize response (median of 10)', metric: 'bare SDK stdio server', value: bareMs, unit: 'ms'},
      {
        group: 'stdio: spawn to first initialize response (median of 10)',
        metric: 'keyward serve --transport stdio, key file',
        value: kwMs,
        unit: 'ms',
        baseline: {name: 'bare SDK stdio', value: bareMs},
        ratio: kwMs / bareMs,
        target: '<= 1.4x bare SDK',
        pass: kwMs / bareMs <= 1.4,
      },
    )
    return rows
  } finally {
    cleanup()
  }
}
