/**
 * The gateway: keyward fronting an upstream (the test fixture over stdio), against two baselines
 * measured in the same run:
 *   - the same upstream called directly with the SDK client over stdio: what keyward adds to the
 *     latency of one call (p50, sequential calls);
 *   - supergateway (stdio to Streamable HTTP, stateful), the usual way to put a stdio server on
 *     HTTP: throughput under load, keyward with API-key authentication on.
 */
import path from 'node:path'

import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'

import {createKey} from '../src/keys/index.js'
import {addUpstream} from '../src/upstreams/index.js'
import {updateVault} from '../src/vault/index.js'
import {type Call, CONNECTIONS, DURATION_S, measure} from './load.js'
import {BIN, env, ROOT, tempVault, type Row} from './util.js'

const FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'upstream-server.js')
const SUPERGATEWAY = path.join(ROOT, 'node_modules', 'supergateway', 'dist', 'index.js')
const CALLS = 1500

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]
}

/** Sequential calls over stdio; returns each call's latency in ms. */
async function latencies(command: string, args: string[], processEnv: Record<string, string>, tool: string): Promise<number[]> {
  const client = new Client({name: 'bench', version: '1'})
  await client.connect(new StdioClientTransport({command, args, env: processEnv, stderr: 'ignore'}))
  try {
    const call = () => client.callTool({name: tool, arguments: {value: 'hello'}})
    const first = await call()
    if ((first.content as {text: string}[])[0]?.text !== 'set hello') throw new Error(`${tool} did not answer: ${JSON.stringify(first).slice(0, 200)}`)
    for (let i = 0; i < 200; i++) await call()
    const out: number[] = []
    for (let i = 0; i < CALLS; i++) {
      const start = process.hrtime.bigint()
      await call()
      out.push(Number(process.hrtime.bigint() - start) / 1e6)
    }
    return out
  } finally {
    await client.close()
  }
}

export async function benchGateway(): Promise<Row[]> {
  const {file, keyFile, material, cleanup} = await tempVault()
  try {
    const now = new Date().toISOString()
    const {key} = await updateVault(file, material, (vault) => {
      addUpstream(vault.data, {name: 'fixture', transport: 'stdio', command: process.execPath, args: [FIXTURE], env: {}, prefix: true, created: now, updated: now})
      // Rate limits stay on, high enough that the load is counted, never refused.
      return createKey(vault.data, {name: 'bench', scopes: ['fixture__*'], rateLimit: {limit: 100_000_000, windowSeconds: 60}})
    })
    const kwEnv = env({KEYWARD_VAULT: file, KEYWARD_KEY_FILE: keyFile, KEYWARD_API_KEY: key, XDG_STATE_HOME: path.dirname(file)}) as Record<string, string>
    const rows: Row[] = []

    // Latency: rounds interleaved, so the machine's drift hits both sides alike.
    const direct: number[] = []
    const through: number[] = []
    for (let round = 0; round < 3; round++) {
      direct.push(percentile(await latencies(process.execPath, [FIXTURE], env({}) as Record<string, string>, 'set_value'), 50))
      through.push(percentile(await latencies(process.execPath, [BIN, 'serve', '--transport', 'stdio', '--quiet'], kwEnv, 'fixture__set_value'), 50))
    }
    const directP50 = percentile(direct, 50)
    const throughP50 = percentile(through, 50)
    const added = throughP50 - directP50
    const group = `gateway: one upstream (test fixture, stdio), ${CALLS} sequential calls, median of 3 rounds`
    rows.push(
      {group, metric: 'p50 latency, SDK client to the upstream directly (stdio)', value: directP50, unit: 'ms'},
      {group, metric: 'p50 latency, SDK client to keyward serve (stdio), fronting it', value: throughP50, unit: 'ms', baseline: {name: 'direct', value: directP50}, ratio: throughP50 / directP50},
      {group, metric: 'added p50 latency', value: added, unit: 'ms', target: '< 1 ms', pass: added < 1},
    )

    // Throughput over Streamable HTTP, stateful: supergateway, then keyward.
    const port = 20_000 + Math.floor(Math.random() * 2000)
    const url = `http://127.0.0.1:${port}/mcp`
    const plain: Call = {name: 'set_value', arguments: {value: 'hello'}, expect: 'set hello'}
    const prefixed: Call = {...plain, name: 'fixture__set_value'}
    const sg = await measure(
      process.execPath,
      [SUPERGATEWAY, '--stdio', `"${process.execPath}" "${FIXTURE}"`, '--outputTransport', 'streamableHttp', '--stateful', '--port', String(port), '--logLevel', 'info'],
      env({}),
      url,
      {},
      plain,
      /listening|Listening|StreamableHttp endpoint/,
    )
    const kw = await measure(process.execPath, [BIN, 'serve', '--transport', 'http', '--port', String(port)], kwEnv, url, {authorization: `Bearer ${key}`}, prefixed, /listening on/)
    const http = `gateway over Streamable HTTP, stateful (${CONNECTIONS} connections, ${DURATION_S} s)`
    rows.push(
      {group: http, metric: `supergateway 4 (stdio to Streamable HTTP, no auth): p50 ${sg.p50} ms, p99 ${sg.p99} ms${sg.errors ? `, ${sg.errors} errors` : ''}`, value: sg.rps, unit: 'req/s'},
      {
        group: http,
        metric: `keyward serve fronting it, API key auth: p50 ${kw.p50} ms, p99 ${kw.p99} ms${kw.errors ? `, ${kw.errors} errors` : ''}`,
        value: kw.rps,
        unit: 'req/s',
        baseline: {name: 'supergateway', value: sg.rps},
        ratio: kw.rps / sg.rps,
        target: '>= 1.5x supergateway',
        pass: kw.rps / sg.rps >= 1.5 && kw.errors === 0,
      },
    )
    return rows
  } finally {
    cleanup()
  }
}
