/**
 * The defects an adversarial review of the CLI and the vault found (issue 7), one test each.
 * Every test here failed before its fix.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {promises as fs} from 'node:fs'
import net from 'node:net'
import path from 'node:path'

import {collect, json, ROOT, Sandbox, sleep} from './helpers/cli.js'

const PLANTED = 'ghp_PLANTEDsecretFROMstdin0123456789'

describe('hardening: CLI and vault', function () {
  this.timeout(60_000)
  let box: Sandbox
  beforeEach(() => {
    box = new Sandbox()
  })
  afterEach(() => box.cleanup())

  describe('1. piped stdin never becomes a positional argument', () => {
    it('every command with an argument refuses a missing one by name, and never reads or echoes stdin', async () => {
      await box.initWithKeyFile()
      await box.run(['keys', 'generate', '--name', 'k', '--scope', 'echo'])
      const manifest = JSON.parse(await fs.readFile(path.join(ROOT, 'oclif.manifest.json'), 'utf8'))
      const withArgs = (Object.values(manifest.commands) as {id: string; args: Record<string, {required?: boolean}>}[]).filter(
        (c) => Object.values(c.args).some((a) => a.required),
      )
      assert.ok(withArgs.length >= 7, `${withArgs.length} commands take a required argument`)
      const before = await fs.readFile(box.vault)
      for (const command of withArgs) {
        const name = Object.keys(command.args)[0].toUpperCase()
        for (const extra of [[], ['--json']]) {
          const r = await box.run([...command.id.split(':'), ...extra], {input: `${PLANTED}\n`})
          const out = r.stdout + r.stderr
          assert.equal(r.code, 2, `${command.id}: ${out}`)
          assert.ok(!out.includes(PLANTED), `${command.id} echoed the piped secret`)
          assert.match(out, new RegExp(`missing ${name}`), `${command.id} names the missing argument`)
          assert.doesNotMatch(out, /Missing 1 required arg/)
        }
      }
      assert.deepEqual(await fs.readFile(box.vault), before, 'nothing was stored')
    })

    it('`secrets set --from-file` with a piped token does not store the token as the name', async () => {
      await box.initWithKeyFile()
      await fs.writeFile(box.path('v.txt'), 'the value')
      const r = await box.run(['secrets', 'set', '--from-file', box.path('v.txt')], {input: `${PLANTED}\n`})
      assert.equal(r.code, 2)
      const list = await box.run(['secrets', 'list', '--json'])
      assert.deepEqual(json(list).secrets, [])
      assert.ok(!list.stdout.includes(PLANTED))
    })
  })

  describe('2. files and directories', () => {
    it('refuses a vault or key file in a directory others can write to, unless it is sticky', async () => {
      await fs.mkdir(box.path('keys'), {mode: 0o700})
      const keyFile = await box.initWithKeyFile(path.join('keys', 'vault.key'))
      const dir = path.dirname(box.vault)
      await fs.chmod(dir, 0o777)
      let r = await box.run(['secrets', 'list', '--json'])
      assert.equal(r.code, 8, r.stdout)
      assert.match(json(r).error.message, /writable by group or others \(mode 0777\).*chmod go-w/)
      await fs.chmod(dir, 0o1777)
      r = await box.run(['secrets', 'list'])
      assert.equal(r.code, 0, 'a sticky directory owned by the user is accepted, as /tmp is')
      await fs.chmod(dir, 0o700)
      await fs.chmod(path.dirname(keyFile), 0o775)
      r = await box.run(['secrets', 'list'])
      assert.equal(r.code, 8, 'the key file directory too')
      assert.match(r.stderr, /refusing key file/)
      await fs.chmod(path.dirname(keyFile), 0o700)
      const created = await box.run(['init', '--vault', box.path('open', 'v.json'), '--key-file-out', box.path('open', 'k.key')])
      assert.equal(created.code, 0, created.stderr)
      await fs.chmod(box.path('open'), 0o770)
      assert.equal((await box.run(['secrets', 'set', 'X', '--vault', box.path('open', 'v.json')], {input: 'v'})).code, 8, 'writes are refused too')
    })

    it('refuses a directory owned by another user (as root only)', async function () {
      if (process.getuid?.() !== 0) this.skip()
      await box.initWithKeyFile()
      const dir = path.dirname(box.vault)
      await fs.chown(dir, 65534, 65534)
      const r = await box.run(['secrets', 'list'])
      assert.equal(r.code, 8)
      assert.match(r.stderr, /belongs to another user/)
      await fs.chown(dir, 0, 0)
    })
  })

  describe('3. a symlinked vault path', () => {
    it('writes the real file, keeps the link, and puts .bak beside the real file', async () => {
      await box.initWithKeyFile()
      const link = box.path('link.json')
      await fs.symlink(box.vault, link)
      const r = await box.run(['secrets', 'set', 'THROUGH_LINK', '--vault', link], {input: 'v'})
      assert.equal(r.code, 0, r.stderr)
      assert.ok((await fs.lstat(link)).isSymbolicLink(), 'the link is still a link')
      assert.ok((await fs.lstat(`${box.vault}.bak`)).isFile(), '.bak is a file beside the real vault')
      await assert.rejects(fs.lstat(`${link}.bak`), 'no .bak beside the link')
      assert.equal((await box.run(['secrets', 'get', 'THROUGH_LINK'])).stdout, 'v', 'the real vault has the change')
      const status = json(await box.run(['vault', 'status', '--json', '--vault', link]))
      assert.equal(status.vault, box.vault)
      assert.equal(status.linkedFrom, link)
    })
  })

  describe('4. changing the unlock secret replaces the data key', () => {
    it('the old passphrase and the .bak it opens decrypt nothing current; passwd says so and keeps a timestamped backup', async () => {
      box.env.KEYWARD_PASSPHRASE = 'the first passphrase here'
      assert.equal((await box.run(['init'])).code, 0)
      await box.run(['secrets', 'set', 'S'], {input: 'before'})
      const r = await box.run(['vault', 'passwd'], {env: {KEYWARD_NEW_PASSPHRASE: 'the second passphrase here'}})
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /New data key: the old secret opens no current version/)
      assert.match(r.stdout, /Old copies still open with the old secret.*\.bak/)
      const backups = (await fs.readdir(path.dirname(box.vault))).filter((n) => /^vault\.json\.\d{4}-.*\.bak$/.test(n))
      assert.equal(backups.length, 1, 'a timestamped backup')
      const lib = await import(path.join(ROOT, 'dist/src/vault/index.js'))
      const format = await import(path.join(ROOT, 'dist/src/vault/format.js'))
      const crypto = await import(path.join(ROOT, 'dist/src/vault/crypto.js'))
      const old = new lib.KeyMaterial({kind: 'passphrase', passphrase: 'the first passphrase here', origin: 'test'})
      const bakHeader = format.headerOf(await lib.readVault(`${box.vault}.bak`))
      const oldDek = await old.unwrap(bakHeader, old.findSlot(bakHeader, 'bak'), 'bak')
      const now = await lib.readVault(box.vault)
      assert.equal(crypto.open(oldDek, format.sealedFromJson(now.payload), format.headerAad(format.headerOf(now))), undefined)
      assert.equal((await box.run(['secrets', 'get', 'S'])).code, 4, 'the old passphrase opens nothing')
    })

    it('init --force twice loses neither replaced vault', async () => {
      await box.initWithKeyFile()
      await box.run(['secrets', 'set', 'FIRST'], {input: '1'})
      const first = await fs.readFile(box.vault)
      for (let i = 0; i < 2; i++) {
        const r = await box.run(['init', '--force', '--key-file-out', box.path(`k${i}.key`), '--json'])
        assert.equal(r.code, 0, r.stderr)
        assert.ok(json(r).replacedBackup)
        await sleep(5)
      }
      const backups = (await fs.readdir(path.dirname(box.vault))).filter((n) => /\d\.bak$|Z\.bak$|-\d+\.bak$/.test(n) && n !== 'vault.json.bak')
      assert.equal(backups.length, 2)
      const kept = await Promise.all(backups.map((b) => fs.readFile(path.join(path.dirname(box.vault), b))))
      assert.ok(kept.some((b) => b.equals(first)), 'the first vault survives two --force')
    })
  })

  describe('5. rollback', () => {
    it('an older genuine copy put back is refused with its own exit code, and accepted only by `vault restore`', async () => {
      await box.initWithKeyFile()
      await box.run(['keys', 'generate', '--name', 'old', '--scope', 'echo'])
      await box.run(['keys', 'revoke', 'old', '--yes'])
      await fs.copyFile(`${box.vault}.bak`, box.vault) // the key is active again in this copy
      let r = await box.run(['keys', 'list', '--json'])
      assert.equal(r.code, 12, r.stdout)
      assert.equal(json(r).error.code, 'VAULT_ROLLED_BACK')
      assert.match(json(r).error.message, /generation \d+, but generation \d+ of it was seen.*keyward vault restore/)
      r = await box.run(['vault', 'restore', box.vault])
      assert.equal(r.code, 11, 'restore asks first')
      r = await box.run(['vault', 'restore', box.vault, '--yes'])
      assert.equal(r.code, 0, r.stderr)
      r = await box.run(['keys', 'list', '--json'])
      assert.equal(r.code, 0)
      assert.equal(json(r).keys[0].status, 'active', 'restored on purpose: the copy is the vault now')
    })
  })

  describe('7. hostile headers', () => {
    it('KDF costs above the ceiling are refused before any work, and deep nesting is damage (exit 5)', async () => {
      box.env.KEYWARD_PASSPHRASE = 'a passphrase for the test'
      assert.equal((await box.run(['init'])).code, 0)
      const good = await fs.readFile(box.vault, 'utf8')
      for (const [from, to] of [['"memory_kib": 65536', '"memory_kib": 1048577'], ['"iterations": 3', '"iterations": 17']]) {
        await fs.writeFile(box.vault, good.replace(from, to))
        const started = Date.now()
        const r = await box.run(['secrets', 'list'])
        assert.equal(r.code, 5, r.stderr)
        assert.match(r.stderr, /outside the accepted range/)
        assert.match(r.stderr, new RegExp(`vault restore ${box.vault.replace(/[/.]/g, '\\$&')}\\.bak`), 'the real path, not <vault>.bak')
        assert.ok(Date.now() - started < 5000)
      }
      const nested = good.replace('"created":', `"extra": ${'['.repeat(20_000)}${']'.repeat(20_000)},\n  "created":`)
      await fs.writeFile(box.vault, nested)
      const r = await box.run(['secrets', 'list', '--json'])
      assert.equal(r.code, 5, r.stdout)
    })
  })

  describe('8. stdout that fails', () => {
    it('keys generate > /dev/full: one line, exit 13, and the key that nobody saw is gone', async () => {
      await box.initWithKeyFile()
      for (const extra of [[], ['--json']]) {
        const {execFileSync} = await import('node:child_process')
        let code = 0
        let stderr = ''
        try {
          execFileSync('sh', ['-c', `"${process.execPath}" "${path.join(ROOT, 'bin/run.js')}" keys generate --name gone --scope echo ${extra.join(' ')} > /dev/full`], {env: box.env, stdio: ['ignore', 'ignore', 'pipe']})
        } catch (err) {
          code = (err as {status: number}).status
          stderr = String((err as {stderr: Buffer}).stderr)
        }
        assert.equal(code, 13, stderr)
        assert.equal(stderr.trim().split('\n').at(-1), 'keyward: cannot write to standard output (no space left on the device)')
        assert.ok(stderr.length < 300, `short: ${stderr.length} bytes`)
        assert.deepEqual(json(await box.run(['keys', 'list', '--all', '--json'])).keys, [], 'the key was removed again')
      }
    })

    it('keys generate --out writes a new 0600 file and never overwrites one', async () => {
      await box.initWithKeyFile()
      const out = box.path('agent.key')
      const r = await box.run(['keys', 'generate', '--name', 'agent', '--scope', 'echo', '--out', out])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, '', 'the key is not on stdout')
      assert.equal(((await fs.stat(out)).mode & 0o777).toString(8), '600')
      assert.equal((await box.run(['keys', 'verify'], {input: await fs.readFile(out)})).code, 0)
      const again = await box.run(['keys', 'generate', '--name', 'agent2', '--scope', 'echo', '--out', out])
      assert.equal(again.code, 10)
      assert.equal(json(await box.run(['keys', 'list', '--json'])).keys.length, 1, 'no key was made for the refused --out')
    })

    it('a closed pipe on stdout is one line and exit 13', async () => {
      await box.initWithKeyFile()
      for (let i = 0; i < 30; i++) await box.run(['secrets', 'set', `S${i}`], {input: 'v'})
      const {execFileSync} = await import('node:child_process')
      const out = execFileSync('bash', ['-c', `"${process.execPath}" "${path.join(ROOT, 'bin/run.js')}" keys list --json 2>err.txt | (exec 0<&-; true); echo "exit \${PIPESTATUS[0]}"; cat err.txt`], {env: box.env, cwd: box.dir})
      const text = String(out)
      assert.match(text, /^exit (0|13)\n/, 'exit 13, or 0 when the output was written before the reader left')
      if (text.startsWith('exit 13')) assert.match(text, /^exit 13\nkeyward: cannot write to standard output \(the reader closed the pipe\)\n$/)
      assert.doesNotMatch(text, /\n\s+at \S+/, 'no stack trace')
    })
  })

  describe('9. flags beat the environment', () => {
    it('--passphrase-file wins over KEYWARD_KEY_FILE, and --key-file over KEYWARD_PASSPHRASE', async () => {
      await fs.writeFile(box.path('pass.txt'), 'the right passphrase here\n', {mode: 0o600})
      assert.equal((await box.run(['init', '--passphrase-file', box.path('pass.txt')])).code, 0)
      const other = new Sandbox()
      const otherKey = await other.initWithKeyFile()
      let r = await box.run(['secrets', 'list', '--passphrase-file', box.path('pass.txt')], {env: {KEYWARD_KEY_FILE: otherKey}})
      assert.equal(r.code, 0, r.stderr)
      await box.run(['vault', 'passwd', '--passphrase-file', box.path('pass.txt'), '--add-key-file', box.path('mine.key')])
      r = await box.run(['secrets', 'list', '--key-file', box.path('mine.key')], {env: {KEYWARD_PASSPHRASE: 'a wrong passphrase entirely'}})
      assert.equal(r.code, 0, r.stderr)
      await other.cleanup()
    })
  })

  describe('10. npm start under a supervisor', () => {
    it('SIGTERM to npm stops the server: nothing is left serving', async function () {
      this.timeout(90_000)
      const child = spawn('npm', ['start', '--silent', '--', '--port', '0'], {cwd: ROOT, env: {...box.env, npm_config_update_notifier: 'false'}, stdio: ['ignore', 'pipe', 'pipe']})
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      child.stdout.resume()
      for (let i = 0; i < 400 && !/listening on/.test(stderr); i++) await sleep(50)
      const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)?.[1])
      assert.ok(port > 0, stderr)
      child.kill('SIGTERM')
      await new Promise((resolve) => child.once('exit', resolve))
      await sleep(1000)
      const refused = await new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1')
        socket.once('connect', () => resolve(false))
        socket.once('error', () => resolve(true))
      })
      assert.ok(refused, 'the server stopped with npm')
    })
  })

  describe('11. small things', () => {
    it('an unknown command honours --json', async () => {
      const r = await box.run(['secretz', 'list', '--json'])
      assert.equal(r.code, 2)
      assert.equal(json(r).error.code, 'INVALID_INPUT')
      assert.match(json(r).error.message, /unknown command secretz/)
      const quiet = await box.run([PLANTED])
      assert.ok(!quiet.stderr.includes(PLANTED), 'a command that looks like a secret is not echoed')
    })

    it('messages: no stray colon, one ellipsis, duplicates named as duplicates', async () => {
      await box.initWithKeyFile()
      let r = await box.run(['vault', 'passwd'])
      assert.equal(r.code, 11)
      assert.match(r.stderr, /new vault passphrase is needed/)
      await fs.writeFile(box.path('keys.json'), JSON.stringify({api_keys: {a: 'sk-prod-1234567890abcdef', b: 'sk-prod-1234567890abcdef'}, key_permissions: {a: ['*'], b: ['*']}}))
      r = await box.run(['keys', 'import', box.path('keys.json')])
      assert.equal(r.code, 2)
      assert.match(r.stderr, /api_keys\.b is the same key as api_keys\.a in this file/)
      await fs.writeFile(box.path('keys.json'), JSON.stringify({api_keys: {a: 'sk-prod-1234567890abcdef'}, key_permissions: {a: ['*']}}))
      r = await box.run(['keys', 'import', box.path('keys.json')])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /sk-pro… /)
      assert.doesNotMatch(r.stdout, /……/)
    })

    it('a no-op `keys scope` leaves the vault and its .bak untouched', async () => {
      await box.initWithKeyFile()
      await box.run(['keys', 'generate', '--name', 'k', '--scope', 'echo'])
      const vault = await fs.readFile(box.vault)
      const bak = await fs.readFile(`${box.vault}.bak`)
      const r = await box.run(['keys', 'scope', 'k', '--add', 'echo', '--json'])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(json(r).changed, false)
      assert.deepEqual(await fs.readFile(box.vault), vault)
      assert.deepEqual(await fs.readFile(`${box.vault}.bak`), bak)
    })

    it('not_yet_valid is one word in JSON and in text', async () => {
      await box.initWithKeyFile()
      await box.run(['keys', 'generate', '--name', 'later', '--scope', 'echo', '--not-before', '1h'])
      const status = json(await box.run(['vault', 'status', '--json']))
      assert.equal(status.counts.keys.not_yet_valid, 1)
      assert.equal(status.counts.keys.pending, undefined)
      assert.match((await box.run(['keys', 'list'])).stdout, /not yet valid/)
    })

    it('--passphrase-file and --key-file accept a pipe (/dev/fd/N, <(…))', async () => {
      const keyFile = await box.initWithKeyFile()
      await fs.writeFile(box.path('pass.txt'), 'a passphrase in a pipe\n', {mode: 0o600})
      await box.run(['vault', 'passwd', '--new-passphrase-file', box.path('pass.txt')])
      const env = {...box.env} as NodeJS.ProcessEnv
      delete env.KEYWARD_KEY_FILE
      const bin = path.join(ROOT, 'bin/run.js')
      for (const [flag, file] of [['--key-file', keyFile], ['--passphrase-file', box.path('pass.txt')]]) {
        const shell = spawn('bash', ['-c', `"${process.execPath}" "${bin}" secrets list --json ${flag} <(cat "${file}")`], {env, stdio: ['pipe', 'pipe', 'pipe']})
        const r = await collect(shell)
        assert.equal(r.code, 0, `${flag} <(…): ${r.stderr}`)
      }
      // Node hands a child its extra pipes as sockets, which /dev/fd/N cannot reopen: read the descriptor.
      const child = spawn(process.execPath, [bin, 'secrets', 'list', '--json', '--key-file', '/dev/fd/3'], {env, stdio: ['pipe', 'pipe', 'pipe', 'pipe']})
      ;(child.stdio[3] as NodeJS.WritableStream).end(await fs.readFile(keyFile))
      const r = await collect(child)
      assert.equal(r.code, 0, r.stderr)
    })

    it('keys verify --json names a revoked key: id, name and status', async () => {
      await box.initWithKeyFile()
      const key = (await box.run(['keys', 'generate', '--name', 'gone', '--scope', 'echo'])).stdout.trim()
      await box.run(['keys', 'revoke', 'gone', '--yes'])
      const r = await box.run(['keys', 'verify', '--json'], {input: key})
      assert.equal(r.code, 22)
      const out = json(r)
      assert.equal(out.valid, false)
      assert.equal(out.code, 'revoked')
      assert.deepEqual(out.key, {id: key.split('_')[1], name: 'gone', status: 'revoked'})
    })
  })
})
