/**
 * The defects an adversarial review of the CLI and the vault found (issue 7), one test each.
 * Every test here failed before its fix.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {promises as fs} from 'node:fs'
import net from 'node:net'
import path from 'node:path'

import {collect, json, ROOT, Sandbox, sleep} from '../helpers/cli.js'
import {bearer, INITIALIZE, post, startServe, type RunningServe} from '../helpers/server.js'

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

    it('keys generate --out that cannot be written leaves the vault and its .bak byte for byte as they were', async () => {
      await box.initWithKeyFile()
      await box.run(['secrets', 'set', 'S'], {input: 'v'})
      // A directory others can write to: the key file is refused there, after the existence check.
      const open = box.path('open')
      await fs.mkdir(open)
      await fs.chmod(open, 0o777)
      const vault = await fs.readFile(box.vault)
      const bak = await fs.readFile(`${box.vault}.bak`)
      const r = await box.run(['keys', 'generate', '--name', 'agent', '--scope', 'echo', '--out', path.join(open, 'agent.key')])
      assert.equal(r.code, 8, r.stderr)
      assert.match(r.stderr, /writable by group or others/)
      assert.ok((await fs.readFile(box.vault)).equals(vault), 'the vault is byte for byte as it was')
      assert.ok((await fs.readFile(`${box.vault}.bak`)).equals(bak), 'the .bak is as it was')
      assert.deepEqual(await fs.readdir(open), [], 'no key file or temp file is left')
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

describe('hardening: serve', function () {
  this.timeout(60_000)
  let box: Sandbox
  let key: string
  const running: RunningServe[] = []
  beforeEach(async () => {
    box = new Sandbox()
    await box.initWithKeyFile()
    key = (await box.run(['keys', 'generate', '--name', 'k', '--scope', 'full'])).stdout.trim()
  })
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()))
    await box.cleanup()
  })
  async function serve(args: string[] = []): Promise<RunningServe> {
    const s = await startServe(box, args)
    running.push(s)
    return s
  }

  /** A stdio server with the key, and a way to send lines and wait for answers. */
  function stdio(env: Record<string, string> = {}) {
    const child = box.spawn(['serve', '--transport', 'stdio'], {env: {KEYWARD_API_KEY: key, ...env}})
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const lines = () => stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
    return {
      child,
      send: (line: string) => child.stdin!.write(line + '\n'),
      lines,
      stderr: () => stderr,
      async waitFor(predicate: (messages: any[]) => boolean, ms = 5000) {
        for (let t = 0; t < ms && !predicate(lines()); t += 20) await sleep(20)
        assert.ok(predicate(lines()), `timed out; stdout: ${stdout.slice(-500)}; stderr: ${stderr.slice(-500)}`)
      },
    }
  }

  it('12. a body over the limit gets 413, read by the client rather than a broken pipe, and the server carries on', async () => {
    const s = await serve()
    const big = JSON.stringify({...INITIALIZE, params: {...INITIALIZE.params, pad: 'x'.repeat(5 * 1024 * 1024)}})
    const headers = {'content-type': 'application/json', accept: 'application/json, text/event-stream', ...bearer(key)}
    // Closing the connection while the client still writes reached about a third of these as EPIPE.
    for (let i = 0; i < 12; i++) {
      const chunked = i % 2 === 1
      const body = chunked
        ? new ReadableStream({
            start(c) {
              for (let at = 0; at < big.length; at += 256 * 1024) c.enqueue(new TextEncoder().encode(big.slice(at, at + 256 * 1024)))
              c.close()
            },
          })
        : big
      const r = await fetch(s.url, {method: 'POST', headers, body, ...(chunked ? {duplex: 'half'} : {})} as RequestInit)
      assert.equal(r.status, 413, `request ${i} (${chunked ? 'chunked' : 'with a length'})`)
      assert.equal(((await r.json()) as {error: {data: {reason: string}}}).error.data.reason, 'too_large')
    }
    assert.equal((await post(s.url, INITIALIZE, bearer(key))).status, 200)
    assert.doesNotMatch(s.logs(), /request failed/)
  })

  it('12b. a client that never stops sending past the limit gets the 413 and is cut off within seconds', async () => {
    const s = await serve()
    const url = new URL(s.url)
    const socket = net.connect(Number(url.port), url.hostname)
    let received = ''
    socket.setEncoding('utf8').on('data', (d: string) => (received += d))
    socket.on('error', () => {})
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())))
    const started = Date.now()
    socket.write(
      `POST ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\n` +
        `authorization: Bearer ${key}\r\ncontent-length: ${1024 ** 3}\r\n\r\n`,
    )
    const trickle = setInterval(() => socket.writable && socket.write('x'.repeat(1024)), 50)
    try {
      const end = await Promise.race([closed, sleep(15_000).then(() => 0)])
      assert.ok(end > 0, 'the connection was cut')
      assert.ok(end - started < 10_000, `cut after ${end - started} ms`)
      assert.match(received, /^HTTP\/1\.1 413/)
      assert.match(received, /too_large/)
    } finally {
      clearInterval(trickle)
      socket.destroy()
    }
    assert.equal((await post(s.url, INITIALIZE, bearer(key))).status, 200)
  })

  it('13. a stdio line over the limit is answered with an error, and the server reads on and exits when stdin closes', async () => {
    const io = stdio()
    io.send(JSON.stringify(INITIALIZE))
    await io.waitFor((m) => m.some((x) => x.id === 1))
    io.send(JSON.stringify({jsonrpc: '2.0', id: 2, method: 'ping', params: {pad: 'x'.repeat(11 * 1024 * 1024)}}))
    io.send(JSON.stringify({jsonrpc: '2.0', id: 3, method: 'ping'}))
    await io.waitFor((m) => m.some((x) => x.id === 3))
    const tooLarge = io.lines().find((x) => x.error?.data?.reason === 'too_large')
    assert.ok(tooLarge, 'the oversized line got an error')
    assert.equal(tooLarge.id, null)
    const r = await collect(io.child)
    assert.equal(r.code, 0, 'ends when stdin closes')
    assert.match(io.stderr(), /refused stdio message: 413 too_large/)
  })

  it('14. stateless: a client cannot cancel another client’s request', async () => {
    const {StaticSource} = await import(path.join(ROOT, 'dist/src/server/index.js'))
    const {serveInProcess, testVault} = await import('../helpers/inprocess.js')
    const vault = await testVault()
    const a = await vault.key('a', ['slow'])
    const b = await vault.key('b', ['slow'])
    let cancelled = 0
    const slow = {
      kind: 'tool',
      descriptor: {name: 'slow', inputSchema: {type: 'object'}},
      call: (_args: unknown, env: {signal: AbortSignal}) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => resolve({content: [{type: 'text', text: 'finished'}]}), 400)
          env.signal.addEventListener('abort', () => {
            cancelled++
            clearTimeout(timer)
            resolve({content: [{type: 'text', text: 'aborted'}]})
          })
        }),
    }
    const server = await serveInProcess(vault, {stateless: true, extraSources: [new StaticSource('slow', {tools: [slow]})]})
    try {
      const call = (k: string, id: number) => post(server.url!, {jsonrpc: '2.0', id, method: 'tools/call', params: {name: 'slow', arguments: {}}}, bearer(k))
      const cancel = (k: string, id: number) => post(server.url!, {jsonrpc: '2.0', method: 'notifications/cancelled', params: {requestId: id}}, bearer(k))
      const pending = call(a, 7)
      await sleep(50)
      assert.equal((await cancel(b, 7)).status, 202)
      const done = JSON.parse((await pending).text)
      assert.equal(done.result.content[0].text, 'finished', "b's cancellation did not reach a's request")
      assert.equal(cancelled, 0)
      const mine = call(a, 8)
      await sleep(50)
      await cancel(a, 8)
      const own = JSON.parse((await mine).text)
      assert.equal(own.error.code, -32800, 'a client can cancel its own request')
      assert.equal(cancelled, 1)
    } finally {
      await server.close()
      vault.cleanup()
    }
  })

  it('15. --host 127.0.0.2 answers requests to the address it printed', async () => {
    const s = await serve(['--host', '127.0.0.2'])
    assert.match(s.url, /^http:\/\/127\.0\.0\.2:\d+\/mcp$/)
    assert.equal((await post(s.url, INITIALIZE, bearer(key))).status, 200)
  })

  it('16. a flood of refusals is summed up in the log, and a full stderr never stalls the server', async () => {
    await box.run(['keys', 'revoke', 'k', '--yes'])
    const child = box.spawn(['serve', '--transport', 'stdio'], {env: {KEYWARD_API_KEY: key}})
    // Started with a valid key? No: the key is revoked, so start with a fresh one and revoke it after.
    const r0 = await collect(child)
    assert.equal(r0.code, 22, 'a revoked key ends stdio serve at startup')
    key = (await box.run(['keys', 'generate', '--name', 'k2', '--scope', 'full'])).stdout.trim()
    const io = box.spawn(['serve', '--transport', 'stdio'], {env: {KEYWARD_API_KEY: key}})
    let stdout = ''
    io.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    // stderr is not read at all until the end: a pipe that fills up.
    io.stderr!.pause()
    io.stdin!.write(JSON.stringify(INITIALIZE) + '\n')
    for (let i = 0; i < 100 && !stdout.includes('"id":1'); i++) await sleep(20)
    await box.run(['keys', 'revoke', 'k2', '--yes'])
    await sleep(400)
    const N = 3000
    let batch = ''
    for (let i = 0; i < N; i++) batch += JSON.stringify({jsonrpc: '2.0', id: 100 + i, method: i % 2 ? 'tools/list' : `x/m${i}`}) + '\n'
    io.stdin!.write(batch)
    const deadline = Date.now() + 20_000
    while (Date.now() < deadline && !stdout.includes(`"id":${100 + N - 1},`)) await sleep(50)
    assert.ok(stdout.includes(`"id":${100 + N - 1},`), 'every refused request was answered while stderr was full')
    let stderr = ''
    io.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    io.stderr!.resume()
    io.stdin!.end()
    await new Promise((resolve) => io.once('close', resolve))
    assert.ok(stderr.length < 300 * 1024, `stderr stayed bounded: ${stderr.length} bytes`)
    assert.match(stderr, /refused stdio tools\/list: 401 revoked \(and \d+ more times/, 'repeats are summed up')
  })

  it('17. protocol details: duplicate X-API-Key, RFC 6750 challenges, 405, batches, params, exact messages', async () => {
    const s = await serve()
    const {request} = await import('node:http')
    const port = new URL(s.url).port
    const raw = (method: string, headers: [string, string][], body?: string) =>
      new Promise<{status: number; headers: Record<string, string | string[] | undefined>; text: string}>((resolve, reject) => {
        const req = request({host: '127.0.0.1', port, path: '/mcp', method, headers: [['host', `127.0.0.1:${port}`], ['content-type', 'application/json'], ['accept', 'application/json, text/event-stream'], ...headers].flat()}, (res) => {
          let text = ''
          res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve({status: res.statusCode!, headers: res.headers, text}))
        })
        req.on('error', reject)
        req.end(body)
      })
    const init = JSON.stringify(INITIALIZE)
    let r = await raw('POST', [['x-api-key', key], ['x-api-key', key]], init)
    assert.equal(r.status, 400)
    assert.equal(JSON.parse(r.text).error.data.reason, 'ambiguous')
    r = await raw('POST', [['authorization', 'Basic YTpi']], init)
    assert.equal(r.status, 401)
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="keyward"', 'no error code for an unsupported scheme')
    r = await raw('POST', [['authorization', 'Bearer ']], init)
    assert.equal(r.status, 400)
    assert.match(String(r.headers['www-authenticate']), /error="invalid_request"/)
    r = await raw('PUT', [['authorization', `Bearer ${key}`]], init)
    assert.equal(r.status, 405)
    assert.equal(r.headers.allow, 'GET, POST, DELETE')
    r = await raw('POST', [['authorization', `Bearer ${key}`]], `[${init}]`)
    assert.equal(r.status, 400)
    assert.equal(JSON.parse(r.text).error.code, -32600, 'no batches')
    const opened = await post(s.url, INITIALIZE, bearer(key))
    const session = {'mcp-session-id': opened.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-11-25', ...bearer(key)}
    r = await raw('POST', Object.entries(session), JSON.stringify({jsonrpc: '2.0', id: 5, method: 'tools/call', params: {}}))
    assert.deepEqual(JSON.parse(r.text).error, {code: -32602, message: 'Invalid params: tools/call needs params.name (a string)', data: {reason: 'invalid_params'}})
    assert.equal(JSON.parse(r.text).id, 5)
    const unknown = await post(s.url, {jsonrpc: '2.0', id: 6, method: 'tools/call', params: {name: 'nope', arguments: {}}}, session)
    assert.match(unknown.text, /"message":"Unknown tool: nope"/, 'no "MCP error -32602:" prefix on the wire')
    const io = stdio()
    io.send(JSON.stringify(INITIALIZE))
    io.send('this is not json')
    io.send(`[${JSON.stringify({jsonrpc: '2.0', id: 9, method: 'ping'})}]`)
    io.send(JSON.stringify({jsonrpc: '2.0', id: 10, method: 'tools/call', params: {arguments: {}}}))
    await io.waitFor((m) => m.some((x) => x.id === 10))
    const errors = io.lines().filter((x) => x.error)
    assert.deepEqual(errors.map((x) => [x.id, x.error.code]), [[null, -32700], [null, -32600], [10, -32602]])
    io.child.stdin!.end()
    await collect(io.child)
    assert.match(io.stderr(), /refused stdio message: 400 parse_error/)
  })

  it('18. SIGHUP really reloads (with --no-watch, nothing else does)', async () => {
    const s = await serve(['--no-watch'])
    assert.equal((await post(s.url, INITIALIZE, bearer(key))).status, 200)
    await box.run(['keys', 'revoke', 'k', '--yes'])
    await sleep(500)
    assert.equal((await post(s.url, INITIALIZE, bearer(key))).status, 200, 'not reloaded without a signal')
    s.child.kill('SIGHUP')
    for (let i = 0; i < 50 && !/reloaded/.test(s.logs()); i++) await sleep(20)
    assert.equal((await post(s.url, INITIALIZE, bearer(key))).status, 401, 'reloaded on SIGHUP')
  })

  it('18. a revoked key’s open sessions are closed, not only refused', async () => {
    const s = await serve()
    const opened = await post(s.url, INITIALIZE, bearer(key))
    const headers = {'mcp-session-id': opened.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-11-25', ...bearer(key)}
    await post(s.url, {jsonrpc: '2.0', method: 'notifications/initialized'}, headers)
    const stream = await fetch(s.url, {headers: {...headers, accept: 'text/event-stream'}})
    assert.equal(stream.status, 200)
    const reader = stream.body!.getReader()
    const ended = (async () => {
      for (;;) if ((await reader.read()).done) return true
    })()
    await box.run(['keys', 'revoke', 'k', '--yes'])
    const closed = await Promise.race([ended, sleep(3000).then(() => false)])
    assert.ok(closed, 'the SSE stream of the revoked key’s session was closed')
    for (let i = 0; i < 50 && !/closed 1 session/.test(s.logs()); i++) await sleep(20)
    assert.match(s.logs(), /closed 1 session/)
  })

  it('5. serve refuses to reload an older copy of the vault, and says why', async () => {
    const s = await serve()
    await box.run(['keys', 'revoke', 'k', '--yes'])
    await sleep(300)
    assert.equal((await post(s.url, INITIALIZE, bearer(key))).status, 401)
    await fs.copyFile(`${box.vault}.bak`, `${box.vault}.old`)
    await fs.rename(`${box.vault}.old`, box.vault)
    for (let i = 0; i < 50 && !/refused to reload/.test(s.logs()); i++) await sleep(20)
    assert.match(s.logs(), /refused to reload .*generation \d+ is older than the generation \d+ being served \(rollback\)/)
    assert.equal((await post(s.url, INITIALIZE, bearer(key))).status, 401, 'the revoked key stays revoked')
  })
})
