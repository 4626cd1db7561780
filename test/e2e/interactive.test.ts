import assert from 'node:assert/strict'
import {promises as fs} from 'node:fs'

import {json, Sandbox} from '../helpers/cli.js'
import {runInPty} from '../helpers/pty.js'

const PASSPHRASE = 'a passphrase typed at a terminal'
const DOWN = '\x1b[B'

describe('interactive prompts, through a pseudo-terminal', function () {
  this.timeout(60_000)
  let box: Sandbox
  beforeEach(() => {
    box = new Sandbox()
  })
  afterEach(() => box.cleanup())

  it('init asks twice for the passphrase; secrets set asks for it and for the value, hidden', async () => {
    let r = await runInPty(['init'], box.env, [
      {expect: /New vault passphrase/, send: `${PASSPHRASE}\r`},
      {expect: /Repeat to confirm/, send: `${PASSPHRASE}\r`},
    ])
    assert.equal(r.code, 0, r.output)
    assert.match(r.output, /Created vault/)
    assert.ok(!r.output.includes(PASSPHRASE), 'the passphrase is not echoed')

    r = await runInPty(['secrets', 'set', 'TYPED'], box.env, [
      {expect: /Vault passphrase/, send: `${PASSPHRASE}\r`},
      {expect: /Value for TYPED/, send: 'typed-secret-value\r'},
    ])
    assert.equal(r.code, 0, r.output)
    assert.ok(!r.output.includes('typed-secret-value'), 'the value is not echoed')
    const get = await box.run(['secrets', 'get', 'TYPED'], {env: {KEYWARD_PASSPHRASE: PASSPHRASE}})
    assert.equal(get.stdout, 'typed-secret-value')

    r = await runInPty(['secrets', 'rm', 'TYPED'], box.env, [
      {expect: /Vault passphrase/, send: `${PASSPHRASE}\r`},
      {expect: /Delete secret TYPED\?/, send: 'y\r'},
    ])
    assert.equal(r.code, 0, r.output)
    assert.equal((await box.run(['secrets', 'get', 'TYPED'], {env: {KEYWARD_PASSPHRASE: PASSPHRASE}})).code, 9)
  })

  it('init refuses when the two entries differ, and creates nothing', async () => {
    const r = await runInPty(['init'], box.env, [
      {expect: /New vault passphrase/, send: `${PASSPHRASE}\r`},
      {expect: /Repeat to confirm/, send: 'something else entirely\r'},
    ])
    assert.equal(r.code, 2, r.output)
    assert.match(r.output, /did not match/)
    await assert.rejects(fs.stat(box.vault))
  })

  it('keys generate asks for name, scopes, expiry and description; keys revoke picks from a list', async () => {
    await box.initWithKeyFile()
    let r = await runInPty(['keys', 'generate'], box.env, [
      {expect: /Key name/, send: 'pty-key\r'},
      {expect: /Scopes/, send: `${DOWN} \r`},
      {expect: /Expires/, send: '7d\r'},
      {expect: /Description/, send: 'made at a terminal\r'},
    ])
    assert.equal(r.code, 0, r.output)
    assert.match(r.output, /kw_[0-9A-Za-z]{12}_[0-9A-Za-z]{39}/)
    assert.match(r.output, /only time this key is shown/)
    const shown = json(await box.run(['keys', 'show', 'pty-key', '--json'])).key
    assert.deepEqual(shown.scopes, ['get_*', 'list_*'], 'the second choice, readonly')
    assert.equal(shown.description, 'made at a terminal')
    assert.ok(Date.parse(shown.expires) > Date.now() + 6.9 * 86_400_000)

    r = await runInPty(['keys', 'revoke', '--reason', 'picked'], box.env, [
      {expect: /Key to revoke/, send: '\r'},
      {expect: /Revoke API key pty-key/, send: 'y\r'},
    ])
    assert.equal(r.code, 0, r.output)
    const after = json(await box.run(['keys', 'show', 'pty-key', '--json'])).key
    assert.equal(after.status, 'revoked')
    assert.equal(after.revoked.reason, 'picked')
  })

  it('colour is on at a terminal and off under NO_COLOR and --no-color', async () => {
    await box.initWithKeyFile()
    await box.run(['keys', 'generate', '--name', 'colourful', '--scope', 'echo'])
    const env = {...box.env}
    delete (env as Record<string, string | undefined>).NO_COLOR
    const ansi = /\x1b\[[0-9;]*m/
    const raw = async (args: string[], extra: Record<string, string> = {}) => {
      const {spawnSync} = await import('node:child_process')
      const {BIN} = await import('../helpers/cli.js')
      const cmd = [process.execPath, BIN, ...args].join(' ')
      return spawnSync('script', ['-qfec', cmd, '/dev/null'], {env: {...env, ...extra, TERM: 'xterm'}, encoding: 'utf8'}).stdout
    }
    assert.match(await raw(['keys', 'list']), ansi, 'coloured on a TTY')
    assert.doesNotMatch(await raw(['keys', 'list'], {NO_COLOR: '1'}), ansi, 'NO_COLOR')
    assert.doesNotMatch(await raw(['keys', 'list', '--no-color']), ansi, '--no-color')
    assert.doesNotMatch(await raw(['keys', 'list', '--json']), ansi, '--json')
    const piped = await box.run(['keys', 'list'], {env: {NO_COLOR: undefined, FORCE_COLOR: undefined}})
    assert.doesNotMatch(piped.stdout, ansi, 'stdout not a TTY')
  })
})
