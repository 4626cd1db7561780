/** A shut-down server that something still holds exits anyway (src/cli/serve.ts exitIfHeld). */
import assert from 'node:assert/strict'

import {exitIfHeld} from '../../../src/cli/serve.js'

describe('serve: exiting once shut down', () => {
  it('after the grace, it exits (with the exit code set so far) and says why; the timer itself holds nothing', async () => {
    const lines: string[] = []
    const exits: number[] = []
    const timer = exitIfHeld(20, (level, message) => void lines.push(`${level}: ${message}`), (code) => void exits.push(code))
    assert.equal(timer.hasRef(), false, 'a process with nothing else open ends at once, without waiting for the grace')
    await new Promise((resolve) => setTimeout(resolve, 60))
    assert.deepEqual(exits, [0])
    assert.match(lines.join('\n'), /^warn: shut down, but something still held the process after 0.02 s; exiting$/)
  })
})
