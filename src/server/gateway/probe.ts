/**
 * Starts or connects to an upstream once and lists what it offers: `upstream test`, `add`, `scan`
 * and `diff --live`, and the collision check of `upstream add --no-prefix`. The upstream gets
 * exactly what `keyward serve` would give it: its environment, private HOME and sandbox.
 */
import type {Listing} from '../../upstreams/pins.js'
import type {UpstreamDefinition} from '../../upstreams/index.js'
import {Redactor} from '../../guard/redactor.js'
import type {VaultData} from '../../vault/index.js'
import type {Logger} from '../log.js'
import {UpstreamLink, type UpstreamEra} from './link.js'
import {exposedName} from './naming.js'
import {resolveUpstream, type UpstreamContext} from './resolve.js'

export interface ProbeResult {
  ms: number
  /** The protocol era it speaks, and the revision negotiated. */
  era: UpstreamEra
  protocolVersion?: string
  server?: {name: string; version: string}
  tools: string[]
  prompts: string[]
  resources: number
  /** The definitions as listed (tools, prompts, resource templates), for the pins and the scanner. */
  listing: Listing
}

export async function probeUpstream(def: UpstreamDefinition, data: VaultData, options: {timeoutMs: number; version: string; log: Logger; context: UpstreamContext}): Promise<ProbeResult> {
  const started = process.hrtime.bigint()
  const redactor = Redactor.ofSecrets(data.secrets)
  const link = new UpstreamLink({
    def,
    resolve: () => resolveUpstream(def, data, options.context),
    version: options.version,
    log: options.log,
    logRedactor: () => redactor,
    capabilities: () => ({}),
  })
  link.start()
  try {
    const client = await link.client(options.timeoutMs)
    const caps = client.getServerCapabilities() ?? {}
    const prefix = def.prefix ? def.name : undefined
    const tools = caps.tools ? (await client.listTools()).tools : []
    const prompts = caps.prompts ? (await client.listPrompts()).prompts : []
    const resources = caps.resources ? (await client.listResources()).resources.length : 0
    const templates = caps.resources ? await client.listResourceTemplates().then((r) => r.resourceTemplates, () => []) : []
    const info = client.getServerVersion()
    return {
      ms: Number(process.hrtime.bigint() - started) / 1e6,
      era: link.era ?? 'legacy',
      protocolVersion: client.getNegotiatedProtocolVersion(),
      server: info && {name: info.name, version: info.version},
      tools: tools.map((t) => exposedName(prefix, t.name)),
      prompts: prompts.map((p) => exposedName(prefix, p.name)),
      resources,
      listing: {tool: tools, prompt: prompts, template: templates},
    }
  } finally {
    await link.stop()
  }
}
