/** Opening the console: BROWSER or the platform's opener, given a private file, never the link itself. */
import assert from 'node:assert/strict'
import {promises as fs} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {openInBrowser} from '../../../src/ui/open-browser.js'
import {sleep} from '../../helpers/cli.js'
import {tempVault, type TempVault} from './temp-vault.js'

describe('console opener', () => {
  describe('with a fake browser', () => {
    let v: TempVault
    beforeEach(async () => (v = await tempVault()))
    afterEach(() => v.cleanup())

    it('gives the browser a 0600 file that leads to the link; the link is in no argument; cleanup removes the file', async () => {
      const seen = path.join(v.dir, 'args')
      const fake = path.join(v.dir, 'browser.sh')
      await fs.writeFile(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > '${seen}'\n`, {mode: 0o755})
      const link = 'http://127.0.0.1:1234/login?token=SECRET-TOKEN'
      const opened = await openInBrowser(link, {...process.env, ...v.env, BROWSER: fake})
      let args = ''
      for (let i = 0; i < 50 && !args; i++) {
        args = await fs.readFile(seen, 'utf8').catch(() => '')
        if (!args) await sleep(50)
      }
      assert.ok(!args.includes('SECRET-TOKEN'))
      const file = fileURLToPath(args.trim())
      assert.equal(file, opened.file)
      assert.equal((await fs.stat(file)).mode & 0o777, 0o600)
      assert.match(await fs.readFile(file, 'utf8'), /<meta http-equiv="refresh" content="0;url=http:\/\/127\.0\.0\.1:1234\/login\?token=SECRET-TOKEN">/)
      await opened.cleanup()
      await assert.rejects(fs.stat(file))
    })

    it('the browser is not given the vault passphrase or any other keyward variable', async () => {
      const seen = path.join(v.dir, 'env')
      const fake = path.join(v.dir, 'browser.sh')
      await fs.writeFile(fake, `#!/bin/sh\nenv > '${seen}.tmp' && mv '${seen}.tmp' '${seen}'\n`, {mode: 0o755})
      const opened = await openInBrowser('http://127.0.0.1:1234/login?token=x', {...process.env, ...v.env, BROWSER: fake, KEYWARD_PASSPHRASE: 'PASSPHRASE-OF-THE-VAULT', KEYWARD_API_KEY: 'kw_CLIENT-KEY', OTHER_SETTING: 'kept'})
      let env = ''
      for (let i = 0; i < 50 && !env; i++) {
        env = await fs.readFile(seen, 'utf8').catch(() => '')
        if (!env) await sleep(50)
      }
      await opened.cleanup()
      assert.match(env, /^OTHER_SETTING=kept$/m)
      assert.ok(!env.includes('PASSPHRASE-OF-THE-VAULT'))
      assert.ok(!env.includes('CLIENT-KEY'))
      assert.doesNotMatch(env, /^KEYWARD_/m)
    })

    it('says so when the browser cannot be started, and leaves no file', async () => {
      await assert.rejects(openInBrowser('http://127.0.0.1:1/login?token=x', {...process.env, ...v.env, BROWSER: path.join(v.dir, 'no-such-browser')}), /cannot start/)
      assert.deepEqual(await fs.readdir(path.join(v.env.XDG_STATE_HOME, 'keyward', 'ui')), [])
    })
  })
})
