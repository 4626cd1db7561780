/** Starts or connects to an upstream once and lists what it offers: `upstream test`, and the collision check of `upstream add --no-prefix`. */
import {upstreamEnvironment, upstreamHeaders, type UpstreamDefinition} from '../../upstreams/index.js'
import type {VaultData} from '../../vault/index.js'
import type {Logger} from '../log.js'
import type {FetchLike} from '../../upstreams/oauth/index.js'
import {UpstreamLink} from './link.js'
import {exposedName} from './naming.js'

export interface ProbeResult {
  ms: number
  server?: {name: string; version: string}
  tools: string[]
  prompts: string[]
  resources: number
}

/** `fetch`: for an upstream that takes OAuth, the one carrying its tokens. */
export async function probeUpstream(def: UpstreamDefinition, data: VaultData, options: {timeoutMs: number; version: string; log: Logger; fetch?: FetchLike}): Promise<ProbeResult> {
  const started = process.hrtime.bigint()
  const link = new UpstreamLink({
    def,
    resolve: () => (def.transport === 'stdio' ? upstreamEnvironment(def, data) : {...upstreamHeaders(def, data), fetch: options.fetch}),
    version: options.version,
    log: options.log,
    capabilities: {},
    relay: () => undefined,
  })
  link.start()
  try {
    const client = await link.client(options.timeoutMs)
    const caps = client.getServerCapabilities() ?? {}
    const prefix = def.prefix ? def.name : undefined
    const tools = caps.tools ? (await client.listTools()).tools.map((t) => exposedName(prefix, t.name)) : []
    const prompts = caps.prompts ? (await client.listPrompts()).prompts.map((p) => exposedName(prefix, p.name)) : []
    const resources = caps.resources ? (await client.listResources()).resources.length : 0
    const info = client.getServerVersion()
    return {ms: Number(process.hrtime.bigint() - started) / 1e6, server: info && {name: info.name, version: info.version}, tools, prompts, resources}
  } finally {
    await link.stop()
  }
}
