import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {promises as fs} from 'node:fs'
import {promisify} from 'node:util'

import {BIN, json, Sandbox} from '../helpers/cli.js'

const PASSPHRASE = 'correct horse battery staple'

describe('vault and secrets', function () {
  let box: Sandbox
  beforeEach(() => {
    box = new Sandbox()
  })
  afterEach(() => box.cleanup())

  describe('round trip', () => {
    for (const mode of ['key file', 'passphrase'] as const) {
      it(`set, get, list and rm with a ${mode}`, async () => {
        if (mode === 'key file') await box.initWithKeyFile()
        else {
          box.env.KEYWARD_PASSPHRASE = PASSPHRASE
          const init = await box.run(['init'])
          assert.equal(init.code, 0, init.stderr)
        }
        let r = await box.run(['secrets', 'set', 'GITHUB_TOKEN', '--description', 'repo token'], {input: 'ghp_value one\n'})
        assert.equal(r.code, 0, r.stderr)
        r = await box.run(['secrets', 'set', 'DB.password'], {input: 'p@ss word'})
        assert.equal(r.code, 0, r.stderr)

        r = await box.run(['secrets', 'get', 'GITHUB_TOKEN'])
        assert.equal(r.code, 0)
        assert.equal(r.stdout, 'ghp_value one', 'value exactly, one trailing newline dropped, none added off a TTY')

        r = await box.run(['secrets', 'list', '--json'])
        const listed = json(r).secrets
        assert.deepEqual(listed.map((s: {name: string}) => s.name), ['DB.password', 'GITHUB_TOKEN'])
        assert.equal(listed[1].description, 'repo token')
        assert.ok(!r.stdout.includes('ghp_value'), 'list never shows values')

        r = await box.run(['secrets', 'set', 'GITHUB_TOKEN'], {input: 'ghp_value two'})
        assert.equal(r.code, 0)
        assert.match(r.stdout, /Replaced/)
        r = await box.run(['secrets', 'get', 'GITHUB_TOKEN', '--json'])
        assert.equal(json(r).value, 'ghp_value two')
        assert.equal(json(r).description, 'repo token', 'description survives a replace')

        r = await box.run(['secrets', 'rm', 'GITHUB_TOKEN', '--yes'])
        assert.equal(r.code, 0, r.stderr)
        r = await box.run(['secrets', 'get', 'GITHUB_TOKEN'])
        assert.equal(r.code, 9)
        assert.match(r.stderr, /no secret named GITHUB_TOKEN/)
      })
    }

    it('stores values byte for byte: --from-file exactly, binary and a BOM included; refuses empty and missing input', async () => {
      await box.initWithKeyFile()
      await fs.writeFile(box.path('value.txt'), 's3cret-from-file\n')
      let r = await box.run(['secrets', 'set', 'FROM_FILE', '--from-file', box.path('value.txt')])
      assert.equal(r.code, 0, r.stderr)
      assert.equal((await box.run(['secrets', 'get', 'FROM_FILE'])).stdout, 's3cret-from-file\n', '--from-file keeps the newline')
      const binary = Buffer.from([0x30, 0x82, 0x01, 0x0a, 0xff, 0xfe, 0x00, 0x0a, 0x80, 0x0a])
      await fs.writeFile(box.path('key.der'), binary)
      r = await box.run(['secrets', 'set', 'DER', '--from-file', box.path('key.der')])
      assert.equal(r.code, 0, r.stderr)
      const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('text after a BOM')])
      r = await box.run(['secrets', 'set', 'BOM'], {input: bom})
      assert.equal(r.code, 0, r.stderr)
      r = await box.run(['secrets', 'set', 'PIPED_BINARY'], {input: binary})
      assert.equal(r.code, 0, r.stderr)
      const pem = '-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n'
      await box.run(['secrets', 'set', 'PEM'], {input: pem})
      await box.run(['secrets', 'set', 'RAW', '--raw'], {input: 'one line\n'})
      const raw = async (name: string) => {
        const {spawnSync} = await import('node:child_process')
        return spawnSync(process.execPath, [BIN, 'secrets', 'get', name], {env: {...box.env}}).stdout as Buffer
      }
      assert.deepEqual(await raw('DER'), binary, 'binary from a file, byte for byte')
      assert.deepEqual(await raw('PIPED_BINARY'), binary, 'binary from stdin, trailing newline and all')
      assert.deepEqual(await raw('BOM'), bom, 'the BOM is kept')
      assert.equal((await raw('PEM')).toString(), pem, 'several lines: kept as they are')
      assert.equal((await raw('RAW')).toString(), 'one line\n', '--raw keeps the line ending')
      assert.equal(json(await box.run(['secrets', 'get', 'DER', '--json'])).valueBase64, binary.toString('base64'))
      assert.equal(json(await box.run(['secrets', 'get', 'BOM', '--json'])).value, bom.toString('utf8'))
      r = await box.run(['secrets', 'set', 'EMPTY'], {input: ''})
      assert.equal(r.code, 2)
      assert.match(r.stderr, /empty/)
      r = await box.run(['secrets', 'set', 'X', '--from-file', box.path('nope')])
      assert.equal(r.code, 2)
      await fs.writeFile(box.path('big'), Buffer.alloc(1024 * 1024 + 1, 1))
      r = await box.run(['secrets', 'set', 'BIG', '--from-file', box.path('big')])
      assert.equal(r.code, 2)
      assert.match(r.stderr, /larger than 1048576 bytes \(1 MiB\)/)
    })

    it('checks secret names against the documented pattern', async () => {
      await box.initWithKeyFile()
      for (const bad of ['1starts_with_digit', 'has space', '_under', 'x'.repeat(129), 'semi;colon', 'a/b']) {
        const r = await box.run(['secrets', 'set', bad], {input: 'v'})
        assert.equal(r.code, 2, `${bad}: ${r.stderr}`)
        assert.match(r.stderr, /invalid secret name/)
      }
      for (const good of ['A', 'constructor', 'github.token', 'DB-PASS_2', 'x'.repeat(128)]) {
        const r = await box.run(['secrets', 'set', good], {input: 'v'})
        assert.equal(r.code, 0, `${good}: ${r.stderr}`)
      }
    })

    it('secrets rm refuses without --yes when there is no terminal', async () => {
      await box.initWithKeyFile()
      await box.run(['secrets', 'set', 'KEEP'], {input: 'v'})
      const r = await box.run(['secrets', 'rm', 'KEEP'])
      assert.equal(r.code, 11)
      assert.match(r.stderr, /--yes/)
      assert.equal((await box.run(['secrets', 'get', 'KEEP'])).stdout, 'v')
    })
  })

  describe('init', () => {
    it('refuses to overwrite a vault without --force, and keeps the old one as .bak with it', async () => {
      await box.initWithKeyFile()
      await box.run(['secrets', 'set', 'OLD'], {input: 'old'})
      const before = await fs.readFile(box.vault)
      let r = await box.run(['init', '--key-file-out', box.path('second.key')])
      assert.equal(r.code, 10)
      assert.match(r.stderr, /already exists.*--force/)
      assert.deepEqual(await fs.readFile(box.vault), before)
      await assert.rejects(fs.stat(box.path('second.key')), 'no stray key file when init is refused')
      r = await box.run(['init', '--force', '--key-file-out', box.path('second.key')], {env: {KEYWARD_KEY_FILE: undefined}})
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual(await fs.readFile(`${box.vault}.bak`), before)
    })

    it('refuses a short passphrase and asks for one when there is no terminal', async () => {
      let r = await box.run(['init'], {env: {KEYWARD_PASSPHRASE: 'short'}})
      assert.equal(r.code, 2)
      assert.match(r.stderr, /at least 12 characters/)
      r = await box.run(['init'])
      assert.equal(r.code, 11)
      assert.match(r.stderr, /KEYWARD_PASSPHRASE|--key-file-out/)
      await assert.rejects(fs.stat(box.vault))
    })

    it('never overwrites an existing key file', async () => {
      await fs.writeFile(box.path('taken.key'), 'mine', {mode: 0o600})
      const r = await box.run(['init', '--key-file-out', box.path('taken.key')])
      assert.equal(r.code, 10)
      assert.equal(await fs.readFile(box.path('taken.key'), 'utf8'), 'mine')
    })
  })

  describe('files', () => {
    it('creates the vault, its backup and the key file 0600, even under umask 000', async () => {
      const run = (args: string) => promisify(execFile)('sh', ['-c', `umask 000; exec "${process.execPath}" "${BIN}" ${args}`], {env: {...box.env}})
      await run(`init --key-file-out "${box.path('k.key')}"`)
      await promisify(execFile)('sh', ['-c', `umask 000; printf v | KEYWARD_KEY_FILE="${box.path('k.key')}" "${process.execPath}" "${BIN}" secrets set A`], {env: {...box.env}})
      for (const file of [box.vault, `${box.vault}.bak`, box.path('k.key')]) {
        const mode = (await fs.stat(file)).mode & 0o777
        assert.equal(mode.toString(8), '600', file)
      }
      const dirMode = (await fs.stat(box.path('data', 'keyward'))).mode & 0o777
      assert.equal(dirMode.toString(8), '700')
    })

    it('refuses a key file that other users can read', async () => {
      const keyFile = await box.initWithKeyFile()
      await fs.chmod(keyFile, 0o644)
      const r = await box.run(['secrets', 'list'])
      assert.equal(r.code, 8)
      assert.match(r.stderr, /accessible by other users.*chmod 600/)
    })

    it('reports a missing vault with how to create one', async () => {
      const r = await box.run(['secrets', 'list'])
      assert.equal(r.code, 3)
      assert.match(r.stderr, /no vault at .*keyward init/)
    })

    it('keeps the previous version as <vault>.bak', async () => {
      await box.initWithKeyFile()
      await box.run(['secrets', 'set', 'A'], {input: '1'})
      const v1 = await fs.readFile(box.vault)
      await box.run(['secrets', 'set', 'B'], {input: '2'})
      assert.deepEqual(await fs.readFile(`${box.vault}.bak`), v1)
    })

    it('a <vault>.bak that is a directory: the error names the .bak, not the vault, says what to do, and the vault is unchanged', async () => {
      await box.initWithKeyFile()
      await box.run(['secrets', 'set', 'A'], {input: '1'})
      await fs.rm(`${box.vault}.bak`, {force: true})
      await fs.mkdir(`${box.vault}.bak`)
      const before = await fs.readFile(box.vault)
      for (const args of [['secrets', 'set', 'B'], ['secrets', 'set', 'B', '--json']]) {
        const r = await box.run(args, {input: '2'})
        assert.equal(r.code, 8, r.stderr)
        const message = args.includes('--json') ? json(r).error.message : r.stderr.trim().replace(/^keyward: /, '')
        assert.equal(message, `vault backup ${box.vault}.bak is a directory, where keyward keeps the vault's previous version; move it out of the way and retry`)
        assert.deepEqual(await fs.readFile(box.vault), before, 'a failed command leaves the vault as it was')
      }
      assert.deepEqual((await fs.readdir(`${box.vault}.bak`)), [], 'nothing written into it')
      const names = await fs.readdir(`${box.dir}/data/keyward`)
      assert.deepEqual(names.filter((n) => n.endsWith('.tmp')), [], 'no temporary file left behind')
    })
  })

  describe('failure classes', () => {
    const SECRET = 'PLANTED-vault-secret-4f1c'

    async function damaged(mutate: (text: string) => string): Promise<Buffer> {
      const text = await fs.readFile(box.vault, 'utf8')
      const out = mutate(text)
      assert.notEqual(out, text, 'the mutation changed the file')
      await fs.writeFile(box.vault, out)
      return Buffer.from(out)
    }

    /** Swaps one base64 character inside the JSON string value of `field` (nth occurrence), keeping it valid base64. */
    function flipIn(text: string, field: string, occurrence = 0): string {
      let at = -1
      for (let i = 0; i <= occurrence; i++) at = text.indexOf(`"${field}": "`, at + 1)
      assert.ok(at >= 0, `field ${field} found`)
      const pos = at + field.length + 5 + 2
      const c = text[pos]
      return text.slice(0, pos) + (c === 'A' ? 'B' : 'A') + text.slice(pos + 1)
    }

    async function expectFailure(code: string, exit: number): Promise<void> {
      const before = await fs.readFile(box.vault)
      for (const args of [['secrets', 'list', '--json'], ['secrets', 'set', 'NEW', '--json'], ['vault', 'rotate', '--json']]) {
        const r = await box.run(args, {input: 'v'})
        assert.equal(r.code, exit, `${args.join(' ')}: ${r.stdout}${r.stderr}`)
        assert.deepEqual(Object.keys(json(r)), ['error'])
        assert.equal(json(r).error.code, code)
        assert.equal(r.stderr, '', 'under --json nothing but the JSON error')
        assert.ok(!r.stdout.includes(SECRET))
        assert.deepEqual(await fs.readFile(box.vault), before, `${args.join(' ')} left the file byte-for-byte as it was`)
      }
      const human = await box.run(['secrets', 'list'])
      assert.equal(human.code, exit)
      assert.equal(human.stderr.trim().split('\n').length, 1, 'one line')
      assert.doesNotMatch(human.stderr, /\n\s+at \S+/, 'no stack trace')
    }

    beforeEach(async () => {
      await box.initWithKeyFile()
      const r = await box.run(['secrets', 'set', 'PLANTED'], {input: SECRET})
      assert.equal(r.code, 0)
    })

    it('header field changed (vault_id): damaged', async () => {
      await damaged((t) => t.replace(/"vault_id": "(.)/, (_m, c: string) => `"vault_id": "${c === 'a' ? 'b' : 'a'}`))
      await expectFailure('VAULT_DAMAGED', 5)
    })

    it('header field changed (created): damaged, since the header is the payload AAD', async () => {
      await damaged((t) => t.replace(/"created": "20/, '"created": "19'))
      await expectFailure('VAULT_DAMAGED', 5)
    })

    it('format version changed: unsupported version', async () => {
      await damaged((t) => t.replace('"version": 2', '"version": 3'))
      await expectFailure('UNSUPPORTED_VERSION', 6)
    })

    it('a byte of the unlock slot flipped: damaged', async () => {
      await damaged((t) => flipIn(t, 'ciphertext', 0))
      await expectFailure('VAULT_DAMAGED', 5)
    })

    it('a byte of the payload nonce flipped: damaged', async () => {
      await damaged((t) => flipIn(t, 'nonce', 1))
      await expectFailure('VAULT_DAMAGED', 5)
    })

    it('a byte of the payload ciphertext flipped: damaged', async () => {
      await damaged((t) => flipIn(t, 'ciphertext', 1))
      await expectFailure('VAULT_DAMAGED', 5)
    })

    it('a byte of the payload tag flipped: damaged', async () => {
      await damaged((t) => flipIn(t, 'tag', 1))
      await expectFailure('VAULT_DAMAGED', 5)
    })

    it('a file that is not JSON: damaged', async () => {
      await damaged((t) => t.slice(0, t.length / 2))
      await expectFailure('VAULT_DAMAGED', 5)
    })

    it('a key file from another vault: wrong key', async () => {
      const other = new Sandbox()
      const otherKey = await other.initWithKeyFile()
      box.env.KEYWARD_KEY_FILE = otherKey
      await expectFailure('WRONG_SECRET', 4)
      await other.cleanup()
    })

    it('lowered KDF parameters are refused before any unlock attempt', async () => {
      const pass = new Sandbox()
      pass.env.KEYWARD_PASSPHRASE = PASSPHRASE
      assert.equal((await pass.run(['init'])).code, 0)
      await fs.writeFile(pass.vault, (await fs.readFile(pass.vault, 'utf8')).replace('"memory_kib": 65536', '"memory_kib": 1024'))
      const r = await pass.run(['secrets', 'list', '--json'])
      assert.equal(r.code, 5)
      assert.match(json(r).error.message, /memory_kib=1024/)
      await pass.cleanup()
    })
  })

  describe('passphrase from a file', () => {
    it('init, unlock and passwd read passphrases from 0600 files, never from argv', async () => {
      await fs.writeFile(box.path('pass.txt'), `${PASSPHRASE}\n`, {mode: 0o600})
      let r = await box.run(['init', '--passphrase-file', box.path('pass.txt')])
      assert.equal(r.code, 0, r.stderr)
      r = await box.run(['secrets', 'set', 'S', '--passphrase-file', box.path('pass.txt')], {input: 'v'})
      assert.equal(r.code, 0, r.stderr)
      await fs.writeFile(box.path('new.txt'), 'the next passphrase here\n', {mode: 0o600})
      r = await box.run(['vault', 'passwd', '--passphrase-file', box.path('pass.txt'), '--new-passphrase-file', box.path('new.txt')])
      assert.equal(r.code, 0, r.stderr)
      r = await box.run(['secrets', 'get', 'S', '--passphrase-file', box.path('pass.txt')])
      assert.equal(r.code, 4, 'the old passphrase no longer opens it')
      r = await box.run(['secrets', 'get', 'S', '--passphrase-file', box.path('new.txt')])
      assert.equal(r.stdout, 'v')
      await fs.chmod(box.path('new.txt'), 0o644)
      r = await box.run(['secrets', 'get', 'S', '--passphrase-file', box.path('new.txt')])
      assert.equal(r.code, 8, 'a passphrase file others can read is refused')
      assert.ok(!r.stderr.includes('the next passphrase'))
    })
  })

  describe('passphrase', () => {
    beforeEach(async () => {
      box.env.KEYWARD_PASSPHRASE = PASSPHRASE
      assert.equal((await box.run(['init'])).code, 0)
      await box.run(['secrets', 'set', 'S'], {input: 'value'})
    })

    it('a wrong passphrase gives its own error and exit code, and changes nothing', async () => {
      const before = await fs.readFile(box.vault)
      for (const args of [['secrets', 'list'], ['secrets', 'set', 'X'], ['vault', 'passwd']]) {
        const r = await box.run(args, {env: {KEYWARD_PASSPHRASE: 'not the passphrase at all', KEYWARD_NEW_PASSPHRASE: 'another long passphrase'}, input: 'v'})
        assert.equal(r.code, 4, r.stderr)
        assert.match(r.stderr, /wrong passphrase/)
        assert.ok(!r.stderr.includes('not the passphrase'), 'the passphrase is never echoed')
      }
      assert.deepEqual(await fs.readFile(box.vault), before)
    })

    it('vault passwd re-wraps the data key only: new passphrase works, old one does not', async () => {
      const before = JSON.parse(await fs.readFile(box.vault, 'utf8'))
      let r = await box.run(['vault', 'passwd', '--json'], {env: {KEYWARD_NEW_PASSPHRASE: 'a brand new passphrase'}})
      assert.equal(r.code, 0, r.stderr)
      const after = JSON.parse(await fs.readFile(box.vault, 'utf8'))
      assert.equal(after.vault_id, before.vault_id)
      r = await box.run(['secrets', 'get', 'S'])
      assert.equal(r.code, 4, 'old passphrase refused')
      r = await box.run(['secrets', 'get', 'S'], {env: {KEYWARD_PASSPHRASE: 'a brand new passphrase'}})
      assert.equal(r.stdout, 'value')
    })

    it('vault passwd adds and removes key-file slots, and refuses to remove the last slot', async () => {
      let r = await box.run(['vault', 'passwd', '--add-key-file', box.path('added.key')])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(((await fs.stat(box.path('added.key'))).mode & 0o777).toString(8), '600')
      r = await box.run(['secrets', 'get', 'S'], {env: {KEYWARD_PASSPHRASE: undefined, KEYWARD_KEY_FILE: box.path('added.key')}})
      assert.equal(r.stdout, 'value')
      r = await box.run(['vault', 'passwd', '--remove-passphrase'], {env: {KEYWARD_KEY_FILE: box.path('added.key')}})
      assert.equal(r.code, 0, r.stderr)
      r = await box.run(['secrets', 'get', 'S'])
      assert.equal(r.code, 4, 'passphrase slot is gone')
      r = await box.run(['vault', 'passwd', '--remove-key-file', box.path('added.key')], {env: {KEYWARD_KEY_FILE: box.path('added.key')}})
      assert.equal(r.code, 2)
      assert.match(r.stderr, /last unlock slot/)
    })

    it('vault rotate replaces the data key and keeps every slot whose secret is given', async () => {
      await box.run(['vault', 'passwd', '--add-key-file', box.path('k.key')])
      const before = JSON.parse(await fs.readFile(box.vault, 'utf8'))
      let r = await box.run(['vault', 'rotate', '--json'], {env: {KEYWARD_PASSPHRASE: undefined, KEYWARD_KEY_FILE: box.path('k.key')}})
      assert.equal(r.code, 11, 'the passphrase slot needs its passphrase')
      r = await box.run(['vault', 'rotate', '--json'], {env: {KEYWARD_KEY_FILE: box.path('k.key')}})
      assert.equal(r.code, 0, r.stderr)
      assert.equal(json(r).kept.length, 2)
      assert.ok(json(r).kept.includes('passphrase'))
      const after = JSON.parse(await fs.readFile(box.vault, 'utf8'))
      for (const i of [0, 1]) assert.notEqual(after.slots[i].wrapped_key.ciphertext, before.slots[i].wrapped_key.ciphertext)
      assert.equal((await box.run(['secrets', 'get', 'S'])).stdout, 'value')
      assert.equal((await box.run(['secrets', 'get', 'S'], {env: {KEYWARD_PASSPHRASE: undefined, KEYWARD_KEY_FILE: box.path('k.key')}})).stdout, 'value')
      r = await box.run(['vault', 'rotate', '--drop-other-slots', '--json'], {env: {KEYWARD_PASSPHRASE: undefined, KEYWARD_KEY_FILE: box.path('k.key')}})
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual(json(r).dropped, ['passphrase'])
    })

    it('vault status shows the slots and counts, never a secret or salt', async () => {
      const r = await box.run(['vault', 'status', '--json'])
      assert.equal(r.code, 0, r.stderr)
      const status = json(r)
      assert.equal(status.format, 'keyward-vault v2')
      assert.equal(status.slots[0].kdf.memoryKiB, 65536)
      assert.equal(status.counts.secrets, 1)
      const raw = JSON.parse(await fs.readFile(box.vault, 'utf8'))
      for (const hidden of [raw.slots[0].salt, raw.slots[0].check, raw.slots[0].wrapped_key.ciphertext, PASSPHRASE, 'value']) {
        assert.ok(!r.stdout.includes(hidden), `status does not show ${hidden.slice(0, 6)}…`)
      }
      const locked = await box.run(['vault', 'status', '--json'], {env: {KEYWARD_PASSPHRASE: undefined}})
      assert.equal(locked.code, 0)
      assert.equal(json(locked).counts, null)
    })
  })

  it('a second writer waits, then reports the vault busy, and changes nothing', async () => {
    await box.initWithKeyFile()
    const {default: lockfile} = await import('proper-lockfile')
    const release = await lockfile.lock(box.vault, {realpath: false, lockfilePath: `${box.vault}.lock`})
    const before = await fs.readFile(box.vault)
    const started = Date.now()
    const r = await box.run(['secrets', 'set', 'X', '--json'], {input: 'v', env: {KEYWARD_LOCK_TIMEOUT: '1'}})
    const waited = Date.now() - started
    await release()
    assert.equal(r.code, 7, r.stdout + r.stderr)
    assert.equal(json(r).error.code, 'VAULT_BUSY')
    assert.ok(waited >= 1000, `waited ${waited} ms for the lock`)
    assert.deepEqual(await fs.readFile(box.vault), before)
    const again = await box.run(['secrets', 'set', 'X'], {input: 'v'})
    assert.equal(again.code, 0, 'works once the lock is free')
  })
})
