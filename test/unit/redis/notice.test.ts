/** Vault notices (src/redis/notice.ts): only a holder of the vault can make one a replica believes. */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'

import {noticeMessage, openNotice} from '../../../src/redis/notice.js'
import {sign} from '../../../src/redis/signing.js'

const VAULT = '8f6e0883-0000-4000-8000-000000000001'
const key = randomBytes(32)
const notice = {vaultId: VAULT, generation: 42, revoked: ['3hT9x0aB2cDe', 'Zz9']}

describe('redis notices', () => {
  it('a signed notice opens to what was signed', () => {
    assert.deepEqual(openNotice(key, VAULT, noticeMessage(key, notice)), notice)
    assert.deepEqual(openNotice(key, VAULT, noticeMessage(key, {...notice, revoked: []})), {...notice, revoked: []})
  })

  it('anything else on the channel opens to nothing', () => {
    const genuine = JSON.parse(noticeMessage(key, notice)) as {generation: number; revoked: string[]; mac: string}
    const forged: [string, string][] = [
      ['unsigned (issue 15)', JSON.stringify({generation: 100, revoked: ['3hT9x0aB2cDe']})],
      ['an id added', JSON.stringify({...genuine, revoked: [...genuine.revoked, 'other']})],
      ['an id removed', JSON.stringify({...genuine, revoked: genuine.revoked.slice(1)})],
      ['the generation raised', JSON.stringify({...genuine, generation: 43})],
      ['signed by another vault', noticeMessage(randomBytes(32), notice)],
      ['a MAC made for a copy stamp', JSON.stringify({...genuine, mac: sign(key, 'copy', [VAULT, 42, genuine.revoked.join(',')])})],
      ['a negative generation', noticeMessage(key, {...notice, generation: -1})],
      ['an id that is not a key id', noticeMessage(key, {...notice, revoked: ['a,b']})],
      ['not JSON', 'hello'],
      ['JSON null', 'null'],
    ]
    for (const [what, message] of forged) assert.equal(openNotice(key, VAULT, message), undefined, what)
    assert.equal(openNotice(key, VAULT.replace(/1$/, '2'), noticeMessage(key, notice)), undefined, 'published for another vault')
    assert.equal(openNotice(undefined, VAULT, noticeMessage(key, notice)), undefined, 'a replica without the key believes nothing')
  })

  it('a message longer than the most ids a notice may carry is not even parsed', () => {
    const genuine = noticeMessage(key, notice)
    assert.deepEqual(openNotice(key, VAULT, `${genuine}${' '.repeat(1000)}`), notice, 'JSON allows the padding')
    assert.equal(openNotice(key, VAULT, `${genuine}${' '.repeat(100_000 * 67 + 1024)}`), undefined)
  })
})
