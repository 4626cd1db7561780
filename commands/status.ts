import {KeywardCommand} from '../src/cli/base.js'
import {openSession} from '../src/cli/session.js'
import {renderTable} from '../src/cli/table.js'
import {configOf} from '../src/config/index.js'
import {KeywardError} from '../src/errors/index.js'
import {redisTarget} from '../src/config/redis.js'
import {resolveRedis} from '../src/redis/url.js'

export default class Status extends KeywardCommand {
  static override summary = 'List the live keyward serve replicas on Redis.'
  static override description = `Each replica started with --redis (or KEYWARD_REDIS_URL, or the vault's redis.url) publishes a heartbeat every 2 s, kept for 6 s: its id, host and pid, URL, the vault generation it serves, uptime, version, and how it sees Redis. The vault is opened only when neither --redis nor KEYWARD_REDIS_URL is given (to read redis.url and redis.password).`

  static override examples = ['<%= config.bin %> <%= command.id %> --redis redis://127.0.0.1:6379', 'KEYWARD_REDIS_URL=rediss://:pw@redis.internal:6380 <%= config.bin %> <%= command.id %> --json']
  static override enableJsonFlag = true

  async run() {
    const {flags} = await this.parse(Status)
    let target = resolveRedis(flags.redis, undefined, undefined)
    if (!target) {
      const {vault} = await openSession(flags)
      target = redisTarget(configOf(vault.data), vault.data)
    }
    if (!target) throw new KeywardError('INVALID_INPUT', 'no Redis configured: pass --redis URL, set KEYWARD_REDIS_URL, or keyward config set redis.url URL')
    const {connectRedis, connectWithin} = await import('../src/redis/client.js')
    const {liveReplicas} = await import('../src/redis/heartbeat.js')
    const {redisGeneration} = await import('../src/redis/vault-copy.js')
    const redis = await connectRedis(target, {name: 'keyward-status'})
    try {
      if (!(await connectWithin(redis, 3000))) throw new KeywardError('UPSTREAM_FAILED', `cannot reach Redis at ${target.display}; check the URL, and that Redis runs`)
      const replicas = await liveReplicas(redis)
      const vaults = [...new Set(replicas.map((r) => r.vaultId))]
      const copies = Object.fromEntries(await Promise.all(vaults.map(async (id) => [id, await redisGeneration(redis, id)] as const)))
      if (!this.jsonEnabled()) {
        if (replicas.length === 0) this.log(`No live replicas on ${target.display}.`)
        else {
          this.log(
            renderTable(
              ['replica', 'url', 'generation', 'uptime', 'version', 'redis'],
              replicas.map((r) => [`${r.host}:${r.pid}`, r.url ?? '-', String(r.generation), `${r.uptimeSeconds}s`, r.version, r.redis]),
            ),
          )
          for (const id of vaults) this.log(`vault ${id}: generation ${copies[id] || 'none'} in Redis`)
        }
      }
      return {redis: target.display, replicas, vaults: copies}
    } finally {
      redis.disconnect()
    }
  }
}
