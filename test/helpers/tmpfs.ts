/**
 * A real, small, full-able file system for tests: a tmpfs mounted for the test (root only). Not
 * root: the test is skipped with the reason printed, unless KEYWARD_REQUIRE_ROOT=1 makes that a failure.
 */
import {execFileSync} from 'node:child_process'
import {constants, promises as fs} from 'node:fs'

export function canMount(ctx: Mocha.Context): boolean {
  if (process.getuid?.() === 0) return true
  const why = 'needs root to mount a tmpfs'
  if (process.env.KEYWARD_REQUIRE_ROOT === '1') throw new Error(`${why}, and KEYWARD_REQUIRE_ROOT=1`)
  console.log(`      skipped: ${why}`)
  ctx.skip()
  return false
}

export async function mountTmpfs(dir: string, size: string): Promise<() => void> {
  await fs.mkdir(dir, {recursive: true, mode: 0o700})
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir])
  return () => execFileSync('umount', ['-l', dir])
}

/** Fills the file system `file` is on, to the last byte; returns how much it wrote. */
export async function fill(file: string): Promise<number> {
  const handle = await fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
  let written = 0
  try {
    const chunk = Buffer.alloc(4096, 0x78)
    for (;;) {
      const {bytesWritten} = await handle.write(chunk)
      written += bytesWritten
      if (bytesWritten < chunk.length) break
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
  } finally {
    await handle.close()
  }
  return written
}
