/** The server log (src/server/log.ts) writes what it is told as it reads: an upstream's error on the operator's terminal does not act on it. */
import assert from 'node:assert/strict'
import {closeSync, mkdtempSync, openSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {stderrLogger} from '../../../src/server/log.js'

describe('server log', () => {
  it('escapes control, invisible and bidirectional characters in a message (review: an upstream’s error reached the terminal raw)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kw-log-'))
    const file = path.join(dir, 'log')
    const fd = openSync(file, 'w')
    try {
      const log = stderrLogger(false, fd)
      log('error', 'upstream x is down: \u001b]0;PWNED\u0007\u001b[2J\u202eevil')
      await log.flush!()
      const written = readFileSync(file, 'utf8')
      assert.equal(written, 'keyward serve: error: upstream x is down: \\u{1B}]0;PWNED\\u{7}\\u{1B}[2J\\u{202E}evil\n')
    } finally {
      closeSync(fd)
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
