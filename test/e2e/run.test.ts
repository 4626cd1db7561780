/** `keyward run` (issue 15, item 20): what the child inherits, and exit codes as a shell gives them. */
import assert from 'node:assert/strict'
import {promises as fs} from 'node:fs'

import {Sandbox} from '../helpers/cli.js'

describe('keyward run', function () {
  this.timeout(60_000)
  let box: Sandbox

  beforeEach(async () => {
    box = new Sandbox()
    await box.initWithKeyFile()
    assert.equal((await box.run(['secrets', 'set', 'DEPLOY_TOKEN'], {input: 'deploy-token-value-1'})).code, 0)
  })

  afterEach(() => box.cleanup())

  it('never passes a client key (KEYWARD_API_KEY, MCP_API_KEY) or a KEYWARD_* variable on to the command', async () => {
    const env = {KEYWARD_API_KEY: 'kw_clientkey_value', MCP_API_KEY: 'kw_other_client_key', KEYWARD_PASSPHRASE: 'not-for-children', UNRELATED: 'kept'}
    const r = await box.run(['run', '--', 'sh', '-c', 'env'], {env})
    assert.equal(r.code, 0, r.stderr)
    const seen = new Map(r.stdout.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
    for (const name of ['KEYWARD_API_KEY', 'MCP_API_KEY', 'KEYWARD_PASSPHRASE', 'KEYWARD_KEY_FILE']) assert.ok(!seen.has(name), `${name} reached the child`)
    assert.equal(seen.get('UNRELATED'), 'kept')
    assert.equal(seen.get('DEPLOY_TOKEN'), 'deploy-token-value-1')
  })

  it('a command that is not found exits 127, one that cannot be executed 126, each with one line', async () => {
    const missing = await box.run(['run', '--', 'no-such-command-kw'])
    assert.equal(missing.code, 127, missing.stderr)
    assert.equal(missing.stderr, 'keyward: cannot run no-such-command-kw: command not found; check its name and PATH\n')
    const file = box.path('not-executable.sh')
    await fs.writeFile(file, '#!/bin/sh\necho hi\n', {mode: 0o644})
    const denied = await box.run(['run', '--', file])
    assert.equal(denied.code, 126, denied.stderr)
    assert.equal(denied.stderr.trim().split('\n').length, 1)
    assert.match(denied.stderr, /^keyward: cannot run .*not-executable\.sh: permission denied/)
    const shell = await box.run(['run', '--', 'sh', '-c', 'no-such-command-kw 2>/dev/null'])
    assert.equal(shell.code, 127, 'the same code a shell gives')
  })

  it('--only with a secret that does not exist says so once, with exit 9', async () => {
    const r = await box.run(['run', '--only', 'NOPE', '--', 'true'])
    assert.equal(r.code, 9)
    assert.equal(r.stderr, 'keyward: no secret named NOPE; see `keyward secrets list`\n')
  })

  it('the command is everything after --, verbatim: its own flags, keyward-looking words and a later -- included', async () => {
    const r = await box.run(['run', '--', 'printf', '%s|', 'x', 'run', '--only', 'x', '--', 'y', '--upstream'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, 'x|run|--only|x|--|y|--upstream|')
  })
})
