/**
 * The session every vault command and the console write through (src/cli/session.ts): with
 * replicas on Redis, each write is made under the cluster's write lease, as the vault has its
 * Redis setting at the time of the write.
 */
import assert from 'node:assert/strict'

import {Redis} from 'ioredis'

import {openSession} from '../../../src/cli/session.js'
import {setConfig} from '../../../src/config/index.js'
import {setSecret} from '../../../src/secrets/index.js'
import {updateVault} from '../../../src/vault/index.js'
import {needRedisServer, RedisServer} from '../../helpers/redis.js'
import {tempVault, withEnv, type TempVault} from '../ui/temp-vault.js'

describe('cli/session', function () {
  this.timeout(20_000)
  let v: TempVault
  let redis: RedisServer | undefined
  let client: Redis | undefined
  let monitor: Awaited<ReturnType<Redis['monitor']>> | undefined

  beforeEach(async () => (v = await tempVault()))
  afterEach(async () => {
    monitor?.disconnect()
    client?.disconnect()
    await redis?.kill()
    v.cleanup()
  })

  it('a long-lived session (the console) takes the write lease once Redis is set up after it opened', async function () {
    needRedisServer.call(this)
    redis = await RedisServer.start()
    await withEnv(v.env, async () => {
      const session = await openSession({vault: v.file, 'key-file': v.keyFile}, {actor: 'ui'})
      // Another command sets the cluster up while the session stays open.
      await updateVault(v.file, session.material, (vault) => void setConfig(vault.data, 'redis.url', redis!.url))
      const commands: string[] = []
      client = new Redis(redis!.url)
      monitor = await client.monitor()
      monitor.on('monitor', (_time: string, args: string[]) => commands.push(args.join(' ')))
      await session.update((vault) => setSecret(vault.data, 'LATER', Buffer.from('value-never-logged')))
      await new Promise((resolve) => setTimeout(resolve, 200))
      assert.ok(
        commands.some((c) => /^set keyward:lease:[^ ]+:vault-write /i.test(c)),
        `the write took the cluster's lease; Redis saw: ${commands.map((c) => c.split(' ')[0]).join(', ')}`,
      )
    })
  })
})
