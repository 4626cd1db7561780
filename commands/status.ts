import {Flags} from '@oclif/core'

import {KeywardCommand} from '../src/cli/base.js'
import {publishVaultFile, redisTargetOf, revokedKeyIds, statusReport, type StatusReport} from '../src/cli/replicas.js'
import {openSession} from '../src/cli/session.js'
import {style} from '../src/cli/style.js'
import {renderTable} from '../src/cli/table.js'
import {KeywardError} from '../src/errors/index.js'
import {resolveRedis} from '../src/redis/url.js'

export default class Status extends KeywardCommand {
  static override summary = 'List the keyward serve replicas on Redis, and warn about any behind or silent.'
  static override description = `Each replica started with --redis (or KEYWARD_REDIS_URL, or the vault's redis.url) writes a heartbeat every 2 s, signed with a key from the vault: its id, host and pid, URL, the vault generation it serves, uptime, version, and how it sees Redis. The vault is opened to check those signatures: a heartbeat that fails its check, or a genuine one copied under another replica's name, is not a replica (it is counted, not shown). Whoever can write to Redis can delete heartbeats: a replica missing from the list may still be running, so compare the count with what you run.

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
    const report = await statusReport(target, {id: vaultId, generation: vault.generation, key})
    if (!this.jsonEnabled()) this.log(this.render(report))
    return report
  }

  private render(report: StatusReport): string {
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
    if (report.truncated) {
      lines.push(style.yellow('WARNING: there are more heartbeat records of this vault than one status reads: replicas may be missing from this list; a Redis writer may be flooding it'))
    }
    return lines.join('\n')
  }
}
