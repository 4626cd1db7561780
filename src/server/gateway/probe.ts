/**
 * Starts or connects to an upstream once and lists what it offers: `upstream test`, `add`, `scan`
 * and `diff --live`, and the collision check of `upstream add --no-prefix`. The upstream gets
 * exactly what `keyward serve` would give it: its environment, private HOME and sandbox.
 */
import type {Listing} from '../../upstreams/pins.js'
import {vaultRedactor, type UpstreamDefinition} from '../../upstreams/index.js'
import type {VaultData} from '../../vault/index.js'
import type {Logger} from '../log.js'
import type {FetchLike} from '../../upstreams/oauth/index.js'
import {UpstreamLink, type UpstreamEra} from './link.js'
import {cutText, listAll, noListing} from './listing.js'
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
  /** The resources' URIs (what `resource:` scopes match; the console's scope preview). */
  resourceUris: string[]
  /** The definitions as listed (tools, prompts, resource templates), for the pins and the scanner. */
  listing: Listing
}

/** `fetch`: for an upstream that takes OAuth, the one carrying its tokens. */
export async function probeUpstream(def: UpstreamDefinition, data: VaultData, options: {timeoutMs: number; version: string; log: Logger; context: UpstreamContext; fetch?: FetchLike}): Promise<ProbeResult> {
  const started = process.hrtime.bigint()
  const redactor = vaultRedactor(data)
  const link = new UpstreamLink({
    def,
    resolve: () => {
      const resolved = resolveUpstream(def, data, options.context)
      return options.fetch ? {...resolved, fetch: options.fetch} : resolved
    },
    version: options.version,
    log: options.log,
    logRedactor: () => redactor,
    capabilities: () => ({}),
  })
  link.start()
  try {
    const client = await link.client(options.timeoutMs)
    const prefix = def.prefix ? def.name : undefined
    // Bounded as serve lists it (listing.ts): what a check shows is what serve would serve.
    const listed = noListing()
    await listAll(client, listed, (cut) => options.log('warn', cutText(def.name, cut)))
    const resourceUris = listed.resource.map((r) => r.uri)
    const info = client.getServerVersion()
    return {
      ms: Number(process.hrtime.bigint() - started) / 1e6,
      era: link.era ?? 'legacy',
      protocolVersion: client.getNegotiatedProtocolVersion(),
      server: info && {name: info.name, version: info.version},
      tools: listed.tool.map((t) => exposedName(prefix, t.name)),
      prompts: listed.prompt.map((p) => exposedName(prefix, p.name)),
      resources: resourceUris.length,
      resourceUris,
      listing: {tool: listed.tool, prompt: listed.prompt, template: listed.template},
    }
  } catch (err) {
    // An upstream's error text (a failed listing) reaches the operator's terminal, a --json error
    // or the console: without the secrets it may quote. The error keeps its class (a login needed).
    if (err instanceof Error) err.message = redactor.text(err.message)
    throw err
  } finally {
    await link.stop()
  }
}
