/**
 * Security rules checked by behaviour, not by reading the source for names: each test here
 * fails if the rule is broken, whatever the code is called.
 */
import assert from 'node:assert/strict'
import {createRequire, syncBuiltinESMExports} from 'node:module'
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {json, ROOT, Sandbox} from '../helpers/cli.js'

const require = createRequire(import.meta.url)
const lib = (module: string) => import(path.join(ROOT, 'dist/src', module))

interface ManifestFlag {
  name: string
  type: 'boolean' | 'option'
}

/** Replaces crypto.timingSafeEqual for ESM importers too, records its calls, and restores it. */
async function spyOnTimingSafeEqual<T>(body: () => Promise<T> | T): Promise<{calls: [Buffer, Buffer][]; result: T}> {
  const crypto = require('node:crypto') as typeof import('node:crypto')
  const original = crypto.timingSafeEqual
  const calls: [Buffer, Buffer][] = []
  crypto.timingSafeEqual = ((a: Buffer, b: Buffer) => {
    calls.push([Buffer.from(a), Buffer.from(b)])
    return original(a, b)
  }) as typeof original
  syncBuiltinESMExports()
  try {
    return {calls, result: await body()}
  } finally {
    crypto.timingSafeEqual = original
    syncBuiltinESMExports()
  }
}

describe('security rules', function () {
  let box: Sandbox
  beforeEach(() => {
    box = new Sandbox()
  })
  afterEach(() => box.cleanup())

  it('no flag of any command takes a secret as its value: the built manifest lists them all', async () => {
    const manifest = JSON.parse(await fs.readFile(path.join(ROOT, 'oclif.manifest.json'), 'utf8'))
    const secretWords = /pass(word|phrase)?|secret|token|api-?key|credential|value|private/i
    // Flags whose value is a path to a file, or a reference (secret:NAME, checked below), never the
    // secret itself; and rates named after an auth type (--ratelimit-api-key 100/min). The OAuth
    // client of an upstream (upstream add --client-secret, --idp-client-secret, --id-token) too,
    // and --idp-token-endpoint, a URL.
    const refersToFile = /-file(-out)?$|^from-file$|^out$|^oauth-client-secret$|^redis-password$|^ratelimit-[a-z-]+$|^client-secret$|^idp-client-secret$|^id-token$|^idp-token-endpoint$/
    let checked = 0
    for (const command of Object.values(manifest.commands) as {id: string; flags: Record<string, ManifestFlag>}[]) {
      for (const flag of Object.values(command.flags)) {
        checked++
        if (flag.type !== 'option' || !secretWords.test(flag.name)) continue
        // import-config --secret VAR names an env variable of the config to import as a secret; it never holds one.
        if (command.id === 'import-config' && flag.name === 'secret') continue
        assert.match(flag.name, refersToFile, `${command.id} --${flag.name} would read a secret from argv`)
      }
    }
    assert.ok(checked > 50, `checked ${checked} flags`)
    const box2 = new Sandbox()
    try {
      await box2.initWithKeyFile()
      for (const flag of ['--oauth-client-secret', '--redis-password']) {
        const r = await box2.run(['serve', '--transport', 'http', '--port', '0', flag, 'a-plaintext-secret'])
        assert.equal(r.code, 2, `${flag}: a reference flag refuses a value`)
        assert.match(r.stderr, /give a vault secret as secret:NAME/)
        assert.ok(!r.stderr.includes('a-plaintext-secret'))
      }
      const idp = ['--idp-issuer', 'https://idp.example.com', '--idp-client-id', 'kw']
      const upstreamFlags: [string, string[]][] = [
        ['--client-secret', ['--client-id', 'a']],
        ['--idp-client-secret', ['--grant', 'cross_app_access', '--client-id', 'a', '--client-key', 'secret:K', '--id-token', 'secret:T', ...idp]],
        ['--id-token', ['--grant', 'cross_app_access', '--client-id', 'a', '--client-key', 'secret:K', ...idp]],
      ]
      for (const [flag, rest] of upstreamFlags) {
        const r = await box2.run(['upstream', 'add', 'up', '--url', 'https://mcp.example.com/mcp', ...rest, flag, 'a-plaintext-secret'])
        assert.equal(r.code, 2, `upstream add ${flag}: a reference flag refuses a value`)
        assert.match(r.stderr, new RegExp(`${flag} takes a vault secret as secret:NAME, never the value itself`))
        assert.ok(!r.stderr.includes('a-plaintext-secret'))
      }
    } finally {
      await box2.cleanup()
    }
  })

  it('key verification compares hashes with crypto.timingSafeEqual, for hits and misses alike', async () => {
    const {KeyIndex} = await lib('keys/verify.js')
    const {createKey} = await lib('keys/store.js')
    const {emptyData} = await lib('vault/payload.js')
    const data = emptyData()
    const {key} = createKey(data, {name: 'k', scopes: ['echo']})
    const index = KeyIndex.fromVault(data)
    const [prefix, id, rest] = key.split('_')
    const {formatKey} = await lib('keys/format.js')
    const wrongSecret = formatKey(prefix, id, 'Z'.repeat(33))
    const unknownId = formatKey(prefix, 'A'.repeat(12), rest.slice(0, 33))
    for (const [presented, code] of [[key, 'valid'], [wrongSecret, 'not_found'], [unknownId, 'not_found']] as const) {
      const {calls, result} = await spyOnTimingSafeEqual(() => index.verify(presented))
      assert.equal(result.code, code)
      assert.ok(calls.length >= 1, `${code}: timingSafeEqual was used`)
      for (const [a, b] of calls) assert.ok(a.length === 32 && b.length === 32, 'SHA-256 digests were compared')
    }
  })

  it('unlock compares the slot check value with crypto.timingSafeEqual', async () => {
    const vaultLib = await lib('vault/index.js')
    const keyFile = box.path('k.key')
    const material = await vaultLib.createKeyFile(keyFile)
    await vaultLib.createVault(box.path('v.json'), [material], {force: false})
    const reopened = await vaultLib.loadKeyFile(keyFile)
    const {calls} = await spyOnTimingSafeEqual(() => vaultLib.openVault(box.path('v.json'), reopened))
    assert.ok(calls.some(([a, b]) => a.length === 16 && b.length === 16), 'the 16-byte check values were compared in constant time')
  })

  for (const command of [['vault', 'rotate'], ['vault', 'passwd', '--new-passphrase-file']] as const) {
    it(`after \`${command.slice(0, 2).join(' ')}\` the old data key decrypts nothing current`, async () => {
      const keyFile = await box.initWithKeyFile()
      await box.run(['secrets', 'set', 'S'], {input: 'value'})
      const vaultLib = await lib('vault/index.js')
      const format = await lib('vault/format.js')
      const crypto = await lib('vault/crypto.js')
      const material = await vaultLib.loadKeyFile(keyFile)
      const oldHeader = format.headerOf(await vaultLib.readVault(box.vault))
      const oldDek: Buffer = await material.unwrap(oldHeader, material.findSlot(oldHeader, box.vault), box.vault)
      const args: string[] = [...command]
      if (command[2]) {
        await fs.writeFile(box.path('new.pass'), 'a new passphrase, long enough\n', {mode: 0o600})
        args.push(box.path('new.pass'))
      }
      const r = await box.run(args)
      assert.equal(r.code, 0, r.stderr)
      const envelope = await vaultLib.readVault(box.vault)
      const header = format.headerOf(envelope)
      const opened = crypto.open(oldDek, format.sealedFromJson(envelope.payload), format.headerAad(header))
      assert.equal(opened, undefined, 'the old data key no longer opens the payload')
      assert.equal((await box.run(['secrets', 'get', 'S'])).stdout, 'value', 'the vault still opens with the key file')
    })
  }

  it('the message of an unexpected internal error is never shown, only its kind', async () => {
    const {toKeywardError} = await import(path.join(ROOT, 'dist/src/cli/base.js'))
    const error = toKeywardError(new TypeError('boom: sk-planted-secret-in-a-message'))
    assert.equal(error.code, 'UNEXPECTED')
    assert.equal(error.exit, 1)
    assert.doesNotMatch(error.message, /planted|boom/)
    assert.match(error.message, /TypeError.*DEBUG=1/)
    // And through the built CLI: an authentic vault whose key record is not one (a bug's only way in).
    const keyFile = await box.initWithKeyFile()
    const vaultLib = await lib('vault/index.js')
    await vaultLib.updateVault(box.vault, await vaultLib.loadKeyFile(keyFile), (vault: {data: unknown}) => {
      vaultLib.tableOf(vault.data, 'keys').set('broken', {id: 'broken', name: 'planted-name-in-a-record'})
    })
    for (const json of [false, true]) {
      const r = await box.run(['keys', 'list', ...(json ? ['--json'] : [])])
      assert.equal(r.code, 1, r.stdout + r.stderr)
      const text = r.stdout + r.stderr
      assert.match(text, /unexpected internal error \(TypeError\)/)
      assert.doesNotMatch(text, /Cannot read|undefined|planted/, 'no message, no data')
      assert.doesNotMatch(text, /\n\s+at \S+/, 'no stack without DEBUG')
      if (json) assert.equal(JSON.parse(r.stdout).error.code, 'UNEXPECTED')
    }
  })

  it('files keyward creates are 0600 whatever the umask, and a planted link at a temp name is never followed', async () => {
    await box.initWithKeyFile()
    const victim = box.path('victim.txt')
    await fs.writeFile(victim, 'do not touch')
    for (const name of ['vault.json.tmp', 'vault.json.bak.tmp', 'vault.json.lock.tmp']) {
      await fs.symlink(victim, path.join(path.dirname(box.vault), name))
    }
    const r = await box.run(['secrets', 'set', 'A'], {input: 'v'})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(await fs.readFile(victim, 'utf8'), 'do not touch')
    for (const file of [box.vault, `${box.vault}.bak`]) {
      assert.equal(((await fs.lstat(file)).mode & 0o777).toString(8), '600', file)
      assert.ok((await fs.lstat(file)).isFile())
    }
    assert.equal(json(await box.run(['secrets', 'list', '--json'])).secrets.length, 1)
  })
})
