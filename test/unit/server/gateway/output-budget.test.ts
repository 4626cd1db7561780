/** How many lines about an upstream's output are logged (gateway/output-budget.ts): a burst, then a rate, and one line for what was not. */
import assert from 'node:assert/strict'

import {OutputBudget, STDERR, STDERR_BURST, STDERR_PER_SECOND, STDOUT_GARBAGE} from '../../../../src/server/gateway/output-budget.js'
import type {LogLevel} from '../../../../src/server/log.js'

describe('gateway: the output budgets of an upstream', () => {
  it('logs a burst, then a few a second; says how many it did not log before the next line it logs; never makes a line it does not log', () => {
    let now = 1_000_000
    const logged: [LogLevel, string][] = []
    const budget = new OutputBudget('chatty', (level, line) => void logged.push([level, line]), STDERR, () => now)
    let made = 0
    const say = (i: number) => budget.line(() => (made++, `line ${i}`))
    for (let i = 0; i < 1000; i++) say(i)
    assert.equal(logged.length, STDERR_BURST)
    assert.deepEqual(logged.at(-1), ['info', `upstream chatty: line ${STDERR_BURST - 1}`])
    assert.equal(made, STDERR_BURST, 'a line not logged is not redacted either')
    now += 1000
    for (let i = 1000; i < 1100; i++) say(i)
    assert.deepEqual(logged[STDERR_BURST], ['warn', `upstream chatty: ${1000 - STDERR_BURST} stderr lines not logged (too many)`])
    assert.equal(logged.length, STDERR_BURST + 1 + STDERR_PER_SECOND)
    assert.deepEqual(logged.at(-1), ['info', `upstream chatty: line ${1000 + STDERR_PER_SECOND - 1}`])
  })

  it('an upstream that falls quiet after a flood has its count told within a second', async () => {
    const logged: string[] = []
    const budget = new OutputBudget('chatty', (_level, line) => void logged.push(line))
    for (let i = 0; i < STDERR_BURST + 5; i++) budget.line(() => `line ${i}`)
    assert.equal(logged.length, STDERR_BURST)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    assert.deepEqual(logged.slice(STDERR_BURST), ['upstream chatty: 5 stderr lines not logged (too many)'])
  })

  it('warnings about what an upstream writes on stdout that is not the protocol have a budget of their own, at warn', () => {
    const now = 1_000_000
    const logged: [LogLevel, string][] = []
    const budget = new OutputBudget('junky', (level, line) => void logged.push([level, line]), STDOUT_GARBAGE, () => now)
    for (let i = 0; i < 1000; i++) budget.line(() => 'wrote a line to stdout that is not JSON')
    assert.equal(logged.length, STDERR_BURST)
    assert.deepEqual(logged[0], ['warn', 'upstream junky: wrote a line to stdout that is not JSON'])
    budget.line(() => 'wrote a line to stdout that is not JSON-RPC')
    assert.equal(logged.length, STDERR_BURST, 'still over budget')
  })
})
