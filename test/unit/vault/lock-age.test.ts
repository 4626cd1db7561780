/**
 * The age of another process's lock (src/vault/lock-age.ts): watched on the monotonic clock, so
 * that a step of the wall clock does not make a live lock stale (review: two writers held the
 * audit lock after a forward step, and verify cried "reordered").
 */
import assert from 'node:assert/strict'
import {promises as fs, type Stats} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {acquireWriteLock} from '../../../src/vault/index.js'
import {lockAge} from '../../../src/vault/lock-age.js'

describe('lock age', () => {
  it('is how long the waiter has seen the heartbeat unchanged, whatever the wall clock does', () => {
    let wall = 1_000_000
    let mono = 0
    const age = lockAge(
      () => wall,
      () => mono,
    )
    const stat = (mtimeMs: number) => ({mtimeMs, mtime: new Date(mtimeMs), size: 0}) as Stats
    const ageOf = (mtimeMs: number) => wall - age.observed('/x.lock', stat(mtimeMs)).mtime.getTime()
    assert.equal(ageOf(wall - 60_000), 0, 'an hour-old mtime just seen: no age yet')
    wall += 3_600_000
    mono += 1000
    assert.equal(ageOf(1_000_000 - 60_000), 1000, 'the wall clock jumped an hour: one second of watching')
    mono += 4500
    assert.equal(ageOf(1_000_000 - 60_000), 5500)
    assert.equal(ageOf(wall), 0, 'a heartbeat: the watch starts again')
    assert.equal(age.observed('/x.lock', stat(wall)).size, 0, 'the rest of the stat is kept')
  })

  describe('on a real lock', function () {
    this.timeout(20_000)
    let dir: string
    let saved: string | undefined
    beforeEach(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kw-lock-'))
      await fs.chmod(dir, 0o700)
      saved = process.env.KEYWARD_LOCK_TIMEOUT
    })
    afterEach(async () => {
      if (saved === undefined) delete process.env.KEYWARD_LOCK_TIMEOUT
      else process.env.KEYWARD_LOCK_TIMEOUT = saved
      await fs.rm(dir, {recursive: true, force: true})
    })

    it('a lock whose heartbeat looks a minute old (the wall clock stepped) is not taken at once; one that stays unchanged is taken after 5 s of watching', async () => {
      const file = path.join(dir, 'vault')
      const lock = `${file}.lock`
      await fs.mkdir(lock)
      const old = new Date(Date.now() - 60_000)
      await fs.utimes(lock, old, old)
      process.env.KEYWARD_LOCK_TIMEOUT = '1'
      await assert.rejects(acquireWriteLock(file, 'test file'), /busy/, 'taken at once: the wall clock decided')
      process.env.KEYWARD_LOCK_TIMEOUT = '10'
      const held = await acquireWriteLock(file, 'test file')
      held.assertHeld()
      await held.release()
    })
  })
})
