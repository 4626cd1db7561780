/**
 * The SDK v2 on its own, in this process: what one tools/call of `echo` costs its Server in
 * each era, with nothing of keyward's and no HTTP. The 2025 call goes to a server connected to
 * a plain transport after `initialize`; the 2026-07-28 one to a server connected to the SDK's
 * per-request transport (which binds it to the revision, as keyward's shared modern server is
 * bound), `_meta` on every request. Each call is parsed from JSON and its answer serialized, as
 * on the wire. The era rows compare keyward's two eras with this: the part of the difference
 * that is the SDK's own.
 */
import {PerRequestHTTPServerTransport, Server, SUPPORTED_PROTOCOL_VERSIONS, type JSONRPCMessage, type MessageClassification, type MessageExtraInfo} from '@modelcontextprotocol/server'

type Era = 'legacy' | 'modern'

const MODERN = {era: 'modern', revision: '2026-07-28'} as MessageClassification
const META = {'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': {name: 'bench', version: '1'}, 'io.modelcontextprotocol/clientCapabilities': {}}
const BODY: Record<Era, string> = {
  legacy: JSON.stringify({jsonrpc: '2.0', id: 1, method: 'tools/call', params: {name: 'echo', arguments: {message: 'hello'}}}),
  modern: JSON.stringify({jsonrpc: '2.0', id: 1, method: 'tools/call', params: {name: 'echo', arguments: {message: 'hello'}, _meta: META}}),
}
const AUTH = {token: '', clientId: 'bench', scopes: []}

interface Loop {
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void
  answered?: (message: JSONRPCMessage) => void
}

class LegacyLoop implements Loop {
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void
  answered?: (message: JSONRPCMessage) => void
  async start(): Promise<void> {}
  async close(): Promise<void> {}
  async send(message: JSONRPCMessage): Promise<void> {
    this.answered?.(message)
  }
}

class ModernLoop extends PerRequestHTTPServerTransport implements Loop {
  answered?: (message: JSONRPCMessage) => void
  constructor() {
    super({classification: MODERN})
  }
  override async start(): Promise<void> {}
  override async send(message: JSONRPCMessage): Promise<void> {
    this.answered?.(message)
  }
}

function answer(loop: Loop, message: JSONRPCMessage, extra: MessageExtraInfo): Promise<JSONRPCMessage> {
  return new Promise((resolve) => {
    loop.answered = resolve
    loop.onmessage?.(message, extra)
  })
}

async function serverFor(era: Era): Promise<Loop> {
  const modern = era === 'modern'
  const server = new Server({name: 'bare-sdk', version: '1.0.0'}, {capabilities: {tools: {}}, ...(modern ? {supportedProtocolVersions: ['2026-07-28', ...SUPPORTED_PROTOCOL_VERSIONS]} : {})})
  server.setRequestHandler('tools/call', async (request) => ({content: [{type: 'text', text: String((request.params.arguments as {message?: unknown} | undefined)?.message)}]}))
  const loop = modern ? new ModernLoop() : new LegacyLoop()
  await server.connect(loop as LegacyLoop)
  if (!modern) {
    await answer(loop, {jsonrpc: '2.0', id: 0, method: 'initialize', params: {protocolVersion: '2025-11-25', capabilities: {}, clientInfo: {name: 'bench', version: '1'}}}, {authInfo: AUTH})
    loop.onmessage?.({jsonrpc: '2.0', method: 'notifications/initialized'})
  }
  return loop
}

/** µs per call for `calls` calls in a row. */
async function timeCalls(loop: Loop, era: Era, calls: number): Promise<number> {
  const extra: MessageExtraInfo = era === 'modern' ? {classification: MODERN, authInfo: AUTH} : {authInfo: AUTH}
  const start = process.hrtime.bigint()
  for (let i = 1; i <= calls; i++) {
    const message = JSON.parse(BODY[era]) as {id: number}
    message.id = i
    const answered = await answer(loop, message as JSONRPCMessage, extra)
    // An error is answered faster than a call: timing one would flatter the era that errs.
    if (!('result' in answered)) throw new Error(`the bare SDK answered a ${era} call with ${JSON.stringify(answered).slice(0, 200)}`)
    // Serialized, as on the wire.
    JSON.stringify(answered)
  }
  return Number(process.hrtime.bigint() - start) / calls / 1000
}

/** The median µs per call of each era, over `rounds` rounds that alternate between them. */
export async function sdkEraCosts(rounds = 8, calls = 20_000): Promise<Record<Era, number>> {
  const loops = {legacy: await serverFor('legacy'), modern: await serverFor('modern')}
  for (const era of ['legacy', 'modern'] as const) await timeCalls(loops[era], era, calls)
  const times: Record<Era, number[]> = {legacy: [], modern: []}
  for (let round = 0; round < rounds; round++) {
    for (const era of round % 2 ? (['modern', 'legacy'] as const) : (['legacy', 'modern'] as const)) times[era].push(await timeCalls(loops[era], era, calls))
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]
  return {legacy: median(times.legacy), modern: median(times.modern)}
}
