/** HTTP load on a tools/call (autocannon, on this machine): one session (2025 era) or none (2026-07-28), a fresh JSON-RPC id per request. */
import autocannon from 'autocannon'

import {startProcess, stopProcess} from './util.js'

export const CONNECTIONS = 10
export const WARMUP_S = 2
export const DURATION_S = Number(process.env.BENCH_DURATION ?? 8)
export const INIT = {jsonrpc: '2.0', id: 0, method: 'initialize', params: {protocolVersion: '2025-11-25', capabilities: {}, clientInfo: {name: 'bench', version: '1'}}}

export interface Load {
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

/** A tools/call to send under load, and the text its result must hold (a fast error is not a result). */
export interface Call {
  name: string
  arguments: Record<string, unknown>
  expect: string
}

export const ECHO: Call = {name: 'echo', arguments: {message: 'hello'}, expect: '"text":"hello"'}

/** The protocol era a load speaks: 2025-11-25 (initialize, then calls), or 2026-07-28 (no handshake; each call carries its `_meta` and the standard headers). */
export type LoadEra = 'legacy' | 'modern'

/** The `_meta` of a 2026-07-28 request: its revision, client and capabilities. */
const MODERN_META = {'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': {name: 'bench', version: '1'}, 'io.modelcontextprotocol/clientCapabilities': {}}

export async function load(url: string, auth: Record<string, string>, seconds: number, call: Call, era: LoadEra = 'legacy'): Promise<Load> {
  const sessionId = era === 'legacy' ? await openSession(url, auth) : undefined
  let id = 0
  const headers = {
    ...auth,
    ...(sessionId ? {'mcp-session-id': sessionId} : {}),
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...(era === 'legacy' ? {'mcp-protocol-version': '2025-11-25'} : {'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': call.name}),
  }
  const params = {name: call.name, arguments: call.arguments, ...(era === 'modern' ? {_meta: MODERN_META} : {})}
  // One checked call first: a fast error is not a result.
  const probe = await fetch(url, {method: 'POST', headers, body: JSON.stringify({jsonrpc: '2.0', id: 0, method: 'tools/call', params})})
  const probeText = await probe.text()
  if (!probe.ok || !probeText.includes(call.expect)) throw new Error(`${url}: tools/call ${call.name} did not answer as expected (HTTP ${probe.status}): ${probeText.slice(0, 200)}`)
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        headers,
        // A fresh JSON-RPC id per request: ids must not repeat within a session.
        setupRequest: (req: autocannon.Request) => ({...req, body: JSON.stringify({jsonrpc: '2.0', id: ++id, method: 'tools/call', params})}),
      },
    ],
  })
  return {rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx}
}

/** Starts a server, warms it up, then loads it; `ready` is what its stderr says when it listens. */
export async function measure(command: string, args: string[], processEnv: NodeJS.ProcessEnv, url: string, auth: Record<string, string>, call: Call, ready = /listening on/): Promise<Load> {
  const child = await startProcess(command, args, processEnv, ready)
  try {
    await load(url, auth, WARMUP_S, call)
    return await load(url, auth, DURATION_S, call)
  } finally {
    await stopProcess(child)
  }
}

