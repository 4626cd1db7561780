#!/usr/bin/env node
import module from 'node:module'

// Node 22.1+ can keep compiled code between runs. The cache goes in the user's own 0700
// directory, not the shared default under /tmp, where another user could plant entries.
if (module.enableCompileCache) {
  const [{mkdirSync}, os, path] = await Promise.all([import('node:fs'), import('node:os'), import('node:path')])
  const dir = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'keyward', 'compile-cache')
  try {
    mkdirSync(dir, {recursive: true, mode: 0o700})
    module.enableCompileCache(dir)
  } catch {
    // No cache: slower start, same behaviour.
  }
}

// The bundled CLI carries its own copy of @oclif/core (see scripts/bundle.mjs).
const {flush, reportTopLevelError, run} = await import('../dist/commands/index.js')
try {
  await run(process.argv.slice(2), import.meta.url)
  await flush()
} catch (err) {
  // Only what no command caught gets here (an unknown command); it is reported by the same rules.
  reportTopLevelError(err, process.argv.slice(2))
}
