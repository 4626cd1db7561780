import {Flags} from '@oclif/core'

import {KeywardCommand} from '../src/cli/base.js'
import {publishVaultFile, redisTargetOf, revokedKeyIds} from '../src/cli/replicas.js'
import {openSession} from '../src/cli/session.js'
import {style} from '../src/cli/style.js'
import {renderTable} from '../src/cli/table.js'
import {KeywardError} from '../src/errors/index.js'
import {resolveRedis} from '../src/redis/url.js'

export default class Status extends KeywardCommand {
  static override summary = 'List the keyward serve replicas on Redis, and warn about any behind or silent.'
  static override description = `Each replica started with --redis (or KEYWARD_REDIS_URL, or the vault's redis.url) writes a heartbeat every 2 s, signed with a key from the vault: its id, host and pid, URL, the vault generation it serves, uptime, version, and how it sees Redis. The vault is opened to check those signatures: a heartbeat that fails its check is not a replica (it is counted, not shown).

A replica that serves an older generation than the vault's, or has not been heard from for 6 s, is shown with a WARNING (in --json: "state": "warning" and its "warnings"). The hosts' clocks must agree within a few seconds.

--publish first publishes the vault as it is now (its encrypted copy, and a notice naming every revoked key), for replicas that missed a change (a command that exited 29).`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --redis redis://127.0.0.1:6379',
    'KEYWARD_REDIS_URL=rediss://:pw@redis.internal:6380 <%= config.bin %> <%= command.id %> --json',
    {description: 'Publish the vault again after a change that exited 29', command: '<%= config.bin %> <%= command.id %> --publish'},
  ]

  static override flags = {
    publish: Flags.boolean({description: 'First publish the vault as it is now, for replicas that missed a change.'}),
  }

  static override enableJsonFlag = true

  async run() {
    const {flags} = await this.parse(Status)
    resolveRedis(flags.redis, undefined, undefined) // a bad --redis fails before the vault is unlocked
    const {file, vault} = await openSession(flags)
    const target = redisTargetOf(vault.data, flags.redis)
    if (!target) throw new KeywardError('INVALID_INPUT', 'no Redis configured: pass --redis URL, set KEYWARD_REDIS_URL, or keyward config set redis.url URL')
    const vaultId = vault.header.vault_id
    const {clusterKeyOf} = await import('../src/redis/signing.js')
    const key = clusterKeyOf(vault.data, vaultId)
    if (!key) throw new KeywardError('INVALID_INPUT', 'the vault has no audit key yet, from which replicas sign their heartbeats; run any admin command once (keyward config set audit.args false) to create it')
    if (flags.publish) {
      const published = await publishVaultFile(file, vault.data, [...revokedKeyIds(vault.data)], target)
      if (!this.jsonEnabled()) this.log(`Published generation ${published.generation} on ${target.display}${published.stored ? '' : ' (Redis had that copy already)'}.`)
    }
    const {connectRedis, connectWithin} = await import('../src/redis/client.js')
    const {heardReplicas, replicaWarnings} = await import('../src/redis/heartbeat.js')
    const {copyStamp} = await import('../src/redis/vault-copy.js')
    const redis = await connectRedis(target, {name: 'keyward-status'})
    try {
      if (!(await connectWithin(redis, 3000))) throw new KeywardError('UPSTREAM_FAILED', `cannot reach Redis at ${target.display}; check the URL, and that Redis runs`)
      const heard = await heardReplicas(redis, key, vaultId)
      const copy = await copyStamp(redis, key, vaultId)
      const current = Math.max(vault.generation, copy?.authentic ? copy.generation : 0)
      const replicas = heard.replicas.map(({ageMs, ...r}) => {
        const warnings = replicaWarnings({...r, ageMs}, current)
        return {...r, lastSeenSeconds: Math.round(ageMs / 100) / 10, state: warnings.length > 0 ? 'warning' : 'ok', warnings}
      })
      const report = {
        redis: target.display,
        vault: {id: vaultId, generation: vault.generation, copy: copy ? {generation: copy.generation, authentic: copy.authentic} : null},
        replicas,
        warnings: replicas.filter((r) => r.state === 'warning').length,
        unauthenticated: heard.unauthenticated,
      }
      if (!this.jsonEnabled()) this.log(this.render(report))
      return report
    } finally {
      redis.disconnect()
    }
  }

  private render(report: {
    redis: string
    vault: {id: string; generation: number; copy: {generation: number; authentic: boolean} | null}
    replicas: {host: string; pid: number; url?: string; generation: number; lastSeenSeconds: number; uptimeSeconds: number; version: string; redis: string; warnings: string[]}[]
    unauthenticated: number
  }): string {
    const lines: string[] = []
    if (report.replicas.length === 0) lines.push(`No replicas of this vault on ${report.redis}.`)
    else {
      const state = (warnings: string[]) => (warnings.length === 0 ? 'ok' : style.yellow(`WARNING: ${warnings.join('; ')}`))
      const rows = report.replicas.map((r) => [`${r.host}:${r.pid}`, r.url ?? '-', String(r.generation), `${Math.max(0, r.lastSeenSeconds)}s ago`, `${r.uptimeSeconds}s`, r.version, r.redis, state(r.warnings)])
      lines.push(renderTable(['replica', 'url', 'generation', 'heard', 'uptime', 'version', 'redis', 'state'], rows))
    }
    const {id, generation, copy} = report.vault
    const inRedis = !copy ? 'no copy in Redis' : copy.authentic ? `generation ${copy.generation} in Redis` : 'the copy in Redis FAILED authentication (changed by a Redis writer): publish it again with --publish'
    lines.push(`vault ${id}: generation ${generation} here, ${inRedis}`)
    if (report.unauthenticated > 0) {
      lines.push(style.yellow(`WARNING: ${report.unauthenticated} heartbeat record(s) failed authentication and are not shown: a Redis writer may be faking replicas`))
    }
    return lines.join('\n')
  }
}
