/** Settings checked by their kind's rule, with the bounds a setting adds (src/config/settings.ts). */
import assert from 'node:assert/strict'

import {checkSetting, durationValue, effectiveConfig} from '../../../src/config/index.js'
import {emptyData} from '../../../src/vault/payload.js'

describe('config: settings', () => {
  it('upstream.max-call-duration takes a duration from 1s to 24h; 0s (no bound at all), less than 1s, past 24h (past what a timer holds) and words are refused, naming the key', () => {
    for (const ok of ['1s', '1500ms', '30m', '24h']) assert.equal(checkSetting('upstream.max-call-duration', ok), ok)
    for (const [bad, why] of [
      ['0s', /give a duration from 1s to 24h/],
      ['999ms', /give a duration from 1s to 24h/],
      ['25h', /give a duration from 1s to 24h/],
      ['forever', /"forever" is not a duration/],
    ] as const) {
      assert.throws(() => checkSetting('upstream.max-call-duration', bad), (err: Error) => why.test(err.message) && err.message.startsWith('config upstream.max-call-duration: '), bad)
    }
  })

  it('a call is bounded by default (30m), and a serve flag beats the vault', () => {
    const data = emptyData()
    assert.equal(durationValue(effectiveConfig(data), 'upstream.max-call-duration'), 30 * 60_000)
    data.tables.set('config', new Map([['upstream.max-call-duration', '2h']]))
    assert.equal(durationValue(effectiveConfig(data), 'upstream.max-call-duration'), 2 * 3_600_000)
    assert.equal(durationValue(effectiveConfig(data, {'upstream.max-call-duration': '1500ms'}), 'upstream.max-call-duration'), 1500)
    assert.throws(() => effectiveConfig(data, {'upstream.max-call-duration': '0s'}), /give a duration from 1s to 24h/, 'a flag is checked as a stored value is')
  })
})
