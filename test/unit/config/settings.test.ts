/** Settings checked by their kind's rule, with the bounds a setting adds (src/config/settings.ts). */
import assert from 'node:assert/strict'

import {checkSetting, durationValue, effectiveConfig, parseDurationValue, SETTINGS} from '../../../src/config/index.js'
import {parseRate} from '../../../src/ratelimit/rate.js'
import {protectionFrom} from '../../../src/server/protection.js'
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

  it('server.input-timeout (the input bridge holds a call this long, on a timer) takes 1s to 24h: 0s and past what a timer holds are refused at config set and on the serve flag', () => {
    for (const ok of ['1s', '5m', '24h']) assert.equal(checkSetting('server.input-timeout', ok), ok)
    // 0s ended every held call at once; 600h (past 2^31-1 ms) made Node fire the timer after 1 ms.
    for (const bad of ['0s', '0ms', '999ms', '25h', '600h', '9999999h']) {
      assert.throws(() => checkSetting('server.input-timeout', bad), (err: Error) => err.message === 'config server.input-timeout: give a duration from 1s to 24h', bad)
    }
    const data = emptyData()
    assert.equal(durationValue(effectiveConfig(data), 'server.input-timeout'), 5 * 60_000)
    assert.throws(() => effectiveConfig(data, {'server.input-timeout': '0s'}), /give a duration from 1s to 24h/, 'the serve flag is checked as a stored value is')
    // A vault may hold a value set before the bounds existed: what serve uses is brought within them.
    data.tables.set('config', new Map([['server.input-timeout', '0s']]))
    assert.equal(durationValue(effectiveConfig(data), 'server.input-timeout'), 1000)
    data.tables.set('config', new Map([['server.input-timeout', '600h']]))
    assert.equal(durationValue(effectiveConfig(data), 'server.input-timeout'), 24 * 3_600_000)
  })

  it('every duration setting whose value reaches a timer has bounds, and they fit a timer (2^31-1 ms)', () => {
    for (const key of ['server.input-timeout', 'upstream.max-call-duration']) {
      const setting = SETTINGS.find((s) => s.key === key)!
      assert.ok(setting.within, key)
      assert.ok(parseDurationValue(setting.within.min)! >= 1 && parseDurationValue(setting.within.max)! <= 2 ** 31 - 1, key)
    }
  })

  it('a rate (ratelimit.* and a key\'s --rate) has a window of at most 24 days: the memory store ends a window on a timer, and a longer one fired at once and never limited', () => {
    assert.deepEqual(parseRate('10/24day'), {limit: 10, windowSeconds: 24 * 86_400})
    for (const bad of ['10/25day', '1/30d', '1/9999h', '1/999999day']) assert.throws(() => parseRate(bad), /a window of at most 24 days/, bad)
    assert.throws(() => checkSetting('ratelimit.api-key', '1/30day'), (err: Error) => err.message.startsWith('config ratelimit.api-key: ') && /at most 24 days/.test(err.message))
  })

  it('a rate setting serve reads is one config set stored: a window of 12 to 24 days (stored in seconds, 7 digits) serves, and one stored before windows were bounded (30 days) is counted over 24 days, not a serve that will not start', () => {
    const config = (rate: string) => new Map<string, string>([...SETTINGS.filter((s) => s.default !== undefined).map((s) => [s.key, s.default!] as [string, string]), ['ratelimit.api-key', rate], ['ratelimit.tool.search', rate]])
    for (const given of ['100/12day', '100/20day', '100/24day', '100/1500000s']) {
      const stored = checkSetting('ratelimit.api-key', given, emptyData())
      const read = protectionFrom(config(stored)).rates
      assert.deepEqual(read.byAuth.api_key, parseRate(given), `${given}, stored as ${stored}`)
      assert.deepEqual(read.tools.get('search'), parseRate(given), `${given}, stored as ${stored}`)
    }
    for (const old of ['100/30day', '100/2592000s', '100/366day']) {
      const read = protectionFrom(config(old)).rates
      assert.deepEqual(read.byAuth.api_key, {limit: 100, windowSeconds: 24 * 86_400}, old)
      assert.deepEqual(read.tools.get('search'), {limit: 100, windowSeconds: 24 * 86_400}, old)
    }
  })
})
