/** A shut-down server that something still holds exits anyway (src/cli/serve.ts exitIfHeld), naming what held it. */
import assert from 'node:assert/strict'

import {exitIfHeld, heldBy} from '../../../src/cli/serve.js'
import {ChildTransport} from '../../../src/server/gateway/child-transport.js'
import {liveChildren} from '../../../src/server/gateway/live-children.js'

describe('serve: exiting once shut down', () => {
  it('after the grace, it exits (with the exit code set so far) and says why; the timer itself holds nothing', async () => {
    const lines: string[] = []
    const exits: number[] = []
    const timer = exitIfHeld(20, (level, message) => void lines.push(`${level}: ${message}`), (code) => void exits.push(code), () => '1 PipeWrap; no upstream process')
    assert.equal(timer.hasRef(), false, 'a process with nothing else open ends at once, without waiting for the grace')
    await new Promise((resolve) => setTimeout(resolve, 60))
    assert.deepEqual(exits, [0])
    assert.match(lines.join('\n'), /^warn: shut down, but something still held the process after 0.02 s; exiting \(held by 1 PipeWrap; no upstream process\)$/)
  })

  it('names what holds the process: its handles counted by kind, and each upstream process by name, pid and whether it was asked to stop', () => {
    assert.equal(heldBy(['PipeWrap', 'Timeout', 'PipeWrap'], []), '2 PipeWrap, 1 Timeout; no upstream process')
    assert.equal(heldBy([], []), 'no active handle; no upstream process')
    assert.equal(
      heldBy(['ProcessWrap'], [
        {upstream: 'fixture', pid: 41, closing: false, exited: false},
        {upstream: 'listed', pid: 42, closing: true, exited: false},
        {upstream: 'other', pid: 43, closing: true, exited: true},
      ]),
      '1 ProcessWrap; upstream processes: fixture pid 41 (never asked to stop), listed pid 42 (asked to stop, still running), other pid 43 (exited, a pipe still open)',
    )
  })

  it("knows the upstream processes still running from their transports, without their argv or environment", async function () {
    this.timeout(10_000)
    const secret = 'held-secret-Zq9-not-in-the-line'
    const transport = new ChildTransport({
      upstream: 'named',
      command: process.execPath,
      args: ['-e', `process.stdin.resume() // ${secret}`],
      env: {PATH: process.env.PATH ?? '', NODE_OPTIONS: '--import tsx', SECRET: secret},
      onLog: () => {},
      maxLineBytes: 1024,
    })
    await transport.start()
    try {
      const pid = transport.pid!
      assert.deepEqual(liveChildren().filter((c) => c.pid === pid), [{upstream: 'named', pid, closing: false, exited: false}])
      const line = heldBy()
      assert.match(line, new RegExp(`named pid ${pid} \\(never asked to stop\\)`))
      assert.doesNotMatch(line, /held-secret/)
    } finally {
      await transport.close()
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.deepEqual(liveChildren().filter((c) => c.upstream === 'named'), [], 'forgotten once its pipes closed')
  })
})
