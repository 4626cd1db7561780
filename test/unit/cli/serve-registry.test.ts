/** How `keyward serve` tells `keyward ui` where it listens: one private file per live server. */
import assert from 'node:assert/strict'
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {announceServe, announcedServes} from '../../../src/cli/serve-registry.js'
import {tempVault, withEnv, type TempVault} from '../ui/temp-vault.js'

describe('serve registry', () => {
  let v: TempVault
  beforeEach(async () => (v = await tempVault()))
  afterEach(() => v.cleanup())

  it('lists a server while it runs, in a 0600 file in a 0700 directory, and forgets it when told', async () => {
    await withEnv(v.env, async () => {
      const forget = await announceServe(v.file, 'http://127.0.0.1:4242/mcp', '9.9.9')
      const listed = await announcedServes(v.vaultId)
      assert.deepEqual(listed.map((s) => [s.url, s.pid, s.version]), [['http://127.0.0.1:4242/mcp', process.pid, '9.9.9']])
      const dir = path.join(v.env.XDG_STATE_HOME, 'keyward', 'serve')
      const [name] = await fs.readdir(dir)
      assert.equal(name, `${v.vaultId}.${process.pid}.json`)
      assert.equal((await fs.stat(path.join(dir, name))).mode & 0o777, 0o600)
      assert.equal((await fs.stat(dir)).mode & 0o777, 0o700)
      assert.deepEqual(await announcedServes('another-vault'), [])
      await forget()
      assert.deepEqual(await announcedServes(v.vaultId), [])
    })
  })

  it('skips the file of a server that died without removing it, and files that are not entries', async () => {
    await withEnv(v.env, async () => {
      await announceServe(v.file, 'http://127.0.0.1:4242/mcp', '1')
      const dir = path.join(v.env.XDG_STATE_HOME, 'keyward', 'serve')
      // No process has pid 2^22 + 1 (above Linux's pid_max default), so this one is dead.
      await fs.writeFile(path.join(dir, `${v.vaultId}.4194305.json`), JSON.stringify({url: 'http://127.0.0.1:1/mcp', pid: 4194305}))
      await fs.writeFile(path.join(dir, `${v.vaultId}.1.json`), 'not json')
      await fs.writeFile(path.join(dir, `${v.vaultId}.2.json`), JSON.stringify({url: 'file:///etc/passwd', pid: process.pid}))
      assert.deepEqual((await announcedServes(v.vaultId)).map((s) => s.url), ['http://127.0.0.1:4242/mcp'])
    })
  })
})
