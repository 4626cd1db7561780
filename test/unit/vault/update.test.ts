/**
 * updateVault refuses a change when the file moved on under it (src/vault/index.ts): the lock
 * keeps writers apart, but two processes can each judge the other's lock stale (a step of the
 * wall clock, a holder stalled past 5 s), and then one change was silently lost.
 */
import assert from 'node:assert/strict'
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {openVault, readVaultBytes, updateVault} from '../../../src/vault/index.js'
import {tempVault, type TempVault} from '../ui/temp-vault.js'

describe('updateVault under a lock another process also took', () => {
  let v: TempVault
  beforeEach(async () => (v = await tempVault()))
  afterEach(() => v.cleanup())

  it('a change made while another writer replaced the file is refused, and the other writer’s vault is left as it wrote it, its backups too', async () => {
    let theirs: Buffer | undefined
    await fs.writeFile(`${v.file}.bak`, 'the real previous version')
    const listing = async () => (await fs.readdir(path.dirname(v.file))).sort()
    const before = await listing()
    await assert.rejects(
      updateVault(v.file, v.material, async (vault) => {
        // Another process, holding the lock too, writes its change in between.
        const other = await openVault(v.file, v.material)
        other.data.secrets.set('THEIRS', {value: Buffer.from('kept'), created: 'c', updated: 'u'})
        theirs = other.serialize()
        await fs.writeFile(v.file, theirs)
        vault.data.secrets.set('MINE', {value: Buffer.from('refused'), created: 'c', updated: 'u'})
      }),
      (err: Error & {code?: string}) => err.code === 'VAULT_BUSY' && /written by another process/.test(err.message),
    )
    assert.equal(await fs.readFile(`${v.file}.bak`, 'utf8'), 'the real previous version', 'review: a refused change replaced .bak')
    assert.deepEqual(await listing(), before)
    assert.deepEqual(await readVaultBytes(v.file), theirs)
    const after = await openVault(v.file, v.material)
    assert.ok(after.data.secrets.has('THEIRS'))
    assert.ok(!after.data.secrets.has('MINE'))
  })
})
