/**
 * Whether another process's write lock is stale (src/vault/lock-age.ts, lock-owner.ts, and lockFs
 * in file.ts): a holder that died is taken over at once; a live one's heartbeat is watched on
 * the monotonic clock, so that a step of the wall clock does not make it stale (review: two
 * writers held the audit lock after a forward step, and verify cried "reordered"); and in one
 * process, holders take turns.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
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

    /** A lock directory as a holder on this machine leaves it: heartbeat a minute old (the wall clock stepped), owner `pid`. */
    async function planted(file: string, pid: number): Promise<void> {
      const lock = `${file}.lock`
      await fs.mkdir(lock)
      const start = (await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined))?.split(') ')[1]?.split(' ')[19]
      await fs.writeFile(path.join(lock, 'owner'), JSON.stringify({pid, host: os.hostname(), start}))
      const old = new Date(Date.now() - 60_000)
      await fs.utimes(lock, old, old)
    }

    it('a live holder whose heartbeat looks a minute old (the wall clock stepped) keeps its lock; one whose heartbeat stays unchanged is taken after 5 s of watching', async () => {
      const file = path.join(dir, 'vault')
      const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], {stdio: 'ignore'})
      try {
        await planted(file, holder.pid!)
        process.env.KEYWARD_LOCK_TIMEOUT = '1'
        await assert.rejects(acquireWriteLock(file, 'test file'), /busy/, 'taken at once: the wall clock decided')
        process.env.KEYWARD_LOCK_TIMEOUT = '10'
        const held = await acquireWriteLock(file, 'test file')
        held.assertHeld()
        await held.release()
      } finally {
        holder.kill()
      }
    })

    it('a holder that died is taken over at once, whatever its heartbeat says (review: a crashed writer cost the next command 5 s)', async () => {
      const file = path.join(dir, 'vault')
      const gone = spawn(process.execPath, ['-e', '0'], {stdio: 'ignore'})
      await new Promise((resolve) => gone.once('exit', resolve))
      await planted(file, gone.pid!)
      await fs.utimes(`${file}.lock`, new Date(), new Date())
      process.env.KEYWARD_LOCK_TIMEOUT = '0'
      const held = await acquireWriteLock(file, 'test file')
      await held.release()
      await assert.rejects(fs.stat(`${file}.lock`), /ENOENT/, 'released with its owner file')
    })

    it('one holder in a process at a time: a second waits for the first, never watches its own process’s lock', async () => {
      const file = path.join(dir, 'vault')
      process.env.KEYWARD_LOCK_TIMEOUT = '1'
      const first = await acquireWriteLock(file, 'test file')
      await assert.rejects(acquireWriteLock(file, 'test file'), /this process is writing it/)
      const second = acquireWriteLock(file, 'test file')
      await first.release()
      const held = await second
      held.assertHeld()
      await held.release()
    })
  })
})
