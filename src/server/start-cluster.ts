/** Joining the other replicas on Redis, when a Redis is named (cluster.ts is loaded only then). */
import type {RedisTarget} from '../redis/url.js'
import type {Cluster} from './cluster.js'
import type {ServeOptions} from './options.js'

export async function startCluster(options: ServeOptions, target: RedisTarget | undefined, adopt: (bytes: Buffer) => Promise<unknown>): Promise<Cluster | undefined> {
  if (!target) return undefined
  const {Cluster} = await import('./cluster.js')
  return Cluster.start({target, log: options.log, version: options.version, material: options.material}, options.vaultFile, adopt)
}
