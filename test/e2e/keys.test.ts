import assert from 'node:assert/strict'
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {json, ROOT, Sandbox, sleep, type Result} from '../helpers/cli.js'

const KEY_SHAPE = /^kw_[0-9A-Za-z]{12}_[0-9A-Za-z]{39}$/

/** The seed chapter's config/api_keys.json, verbatim. */
const SEED_FILE = {
  api_keys: {production: 'sk-prod-1234567890abcdef', development: 'sk-dev-abcdef1234567890', readonly: 'sk-ro-fedcba0987654321'},
  key_permissions: {production: ['*'], development: ['hello_world', 'echo', 'get_time', 'debug_info'], readonly: ['get_*', 'list_*', 'debug_info']},
}

describe('API keys', function () {
  let box: Sandbox
  let keyFile: string
  beforeEach(async () => {
    box = new Sandbox()
    keyFile = await box.initWithKeyFile()
  })
  afterEach(() => box.cleanup())

  const generate = (...args: string[]) => box.run(['keys', 'generate', ...args])
  const verify = (key: string, ...args: string[]) => box.run(['keys', 'verify', ...args], {input: `${key}\n`})

  async function newKey(name: string, ...args: string[]): Promise<string> {
    const r = await generate('--name', name, ...args)
    assert.equal(r.code, 0, r.stderr)
    return r.stdout.trim()
  }

  async function decryptedPayload(): Promise<string> {
    const lib = await import(path.join(ROOT, 'dist/src/vault/index.js'))
    const vault = await lib.openVault(box.vault, await lib.loadKeyFile(keyFile))
    const secrets = [...vault.data.secrets].map(([name, s]: [string, {value: Buffer}]) => [name, s.value.toString('utf8')])
    return JSON.stringify({secrets, tables: [...vault.data.tables].map(([name, t]: [string, Map<string, unknown>]) => [name, [...t]])})
  }

  describe('generate', () => {
    it('prints the key alone on stdout and the warning on stderr', async () => {
      const r = await generate('--name', 'ci', '--scope', 'readonly')
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /^kw_\S+\n$/)
      assert.match(r.stdout.trim(), KEY_SHAPE)
      assert.match(r.stderr, /only time this key is shown/)
    })

    it('takes every flag, and --json gives one object with the key and its record', async () => {
      const r = await generate(
        '--name', 'full-flags', '--scope', 'readonly', '--scope', 'echo,hello_world', '--scope', '!list_secrets',
        '--expires', '30d', '--not-before', '2000-01-01', '--rate', '1000/min', '--description', 'for the test',
        '--meta', 'team=platform', '--meta', 'ticket=SEC-1', '--prefix', 'acme', '--json',
      )
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stderr, '')
      const out = json(r)
      assert.match(out.key, /^acme_[0-9A-Za-z]{12}_[0-9A-Za-z]{39}$/)
      const rec = out.record
      assert.equal(rec.name, 'full-flags')
      assert.deepEqual(rec.scopes, ['get_*', 'list_*', 'echo', 'hello_world', '!list_secrets'])
      assert.equal(rec.description, 'for the test')
      assert.deepEqual(rec.rateLimit, {limit: 1000, windowSeconds: 60})
      assert.deepEqual(rec.meta, {team: 'platform', ticket: 'SEC-1'})
      assert.equal(rec.notBefore, '2000-01-01T00:00:00.000Z')
      const days = (Date.parse(rec.expires) - Date.now()) / 86_400_000
      assert.ok(days > 29.9 && days <= 30, `expires in ${days} days`)
      assert.equal(rec.status, 'active')
      assert.equal((await verify(out.key)).code, 0)
    })

    it('refuses bad input with a clear message, before touching the vault', async () => {
      const before = await fs.readFile(box.vault)
      const cases: [string[], RegExp][] = [
        [['--name', 'x', '--scope', 'github/*'], /can never match/],
        [['--name', 'x', '--scope', '!echo'], /grant nothing/],
        [['--name', 'x', '--scope', 'weird:thing'], /unknown kind/],
        [['--name', 'x', '--scope', '*', '--scope', '!*'], /every grant is excluded/],
        [['--name', 'bad name', '--scope', 'echo'], /invalid key name/],
        [['--name', 'x', '--scope', 'echo', '--expires', 'tomorrow'], /not a time/],
        [['--name', 'x', '--scope', 'echo', '--expires', '2001-01-01'], /in the past/],
        [['--name', 'x', '--scope', 'echo', '--rate', 'lots'], /not a rate/],
        [['--name', 'x', '--scope', 'echo', '--meta', 'novalue'], /key=value/],
        [['--name', 'x', '--scope', 'echo', '--prefix', 'Bad_'], /invalid key prefix/],
      ]
      for (const [args, message] of cases) {
        const r = await generate(...args)
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
        assert.match(r.stderr, message)
      }
      assert.deepEqual(await fs.readFile(box.vault), before)
    })

    it('asks for what is missing only on a terminal; without one it says which flag to add', async () => {
      let r = await generate('--scope', 'echo')
      assert.equal(r.code, 11)
      assert.match(r.stderr, /--name is required/)
      r = await generate('--name', 'x')
      assert.equal(r.code, 11)
      assert.match(r.stderr, /--scope is required/)
    })

    it('refuses a duplicate name', async () => {
      await newKey('dup', '--scope', 'echo')
      const r = await generate('--name', 'dup', '--scope', 'echo')
      assert.equal(r.code, 10)
    })
  })

  describe('storage', () => {
    it('keeps no plaintext key: not in the decrypted payload, not in list or show', async () => {
      const key = await newKey('secret-check', '--scope', 'full')
      const secretPart = key.split('_')[2].slice(0, 33)
      const payload = await decryptedPayload()
      assert.ok(!payload.includes(key), 'the key is not in the payload')
      assert.ok(!payload.includes(secretPart), 'its secret part is not in the payload')
      for (const args of [['keys', 'list'], ['keys', 'list', '--json'], ['keys', 'list', '--all'], ['keys', 'show', 'secret-check'], ['keys', 'show', 'secret-check', '--json'], ['vault', 'status', '--json']]) {
        const r = await box.run(args)
        assert.equal(r.code, 0, r.stderr)
        assert.ok(!r.stdout.includes(secretPart) && !r.stderr.includes(secretPart), `${args.join(' ')} shows no secret`)
      }
      const raw = await fs.readFile(box.vault, 'utf8')
      assert.ok(!raw.includes(key.slice(0, 20)), 'not even the key start is in the file: the whole payload is encrypted')
    })
  })

  describe('verify', () => {
    it('gives each status its own code', async () => {
      const valid = await newKey('valid', '--scope', 'echo')
      const revoked = await newKey('revoked', '--scope', 'echo')
      const expired = await newKey('expired', '--scope', 'echo', '--expires', '1s')
      const pending = await newKey('pending', '--scope', 'echo', '--not-before', '1h')
      assert.equal((await box.run(['keys', 'revoke', 'revoked', '--yes'])).code, 0)
      await sleep(1100)
      const unknown = valid.replace(/_([0-9A-Za-z]{12})_/, '_AAAAAAAAAAAA_')
      const cases: [string, number, string][] = [
        [valid, 0, 'valid'],
        ['kw_not_a_key', 20, 'KEY_MALFORMED'],
        [valid.slice(0, -1) + (valid.endsWith('a') ? 'b' : 'a'), 20, 'KEY_MALFORMED'],
        [revoked, 22, 'KEY_REVOKED'],
        [expired, 23, 'KEY_EXPIRED'],
        [pending, 24, 'KEY_NOT_YET_VALID'],
      ]
      for (const [key, exit, code] of cases) {
        const r = await verify(key, '--json')
        assert.equal(r.code, exit, `${code}: ${r.stdout}`)
        if (exit === 0) assert.equal(json(r).key.name, 'valid')
        else assert.equal(json(r).error.code, code)
      }
      // An unknown id has a valid shape but a wrong checksum, so it is malformed; a known id with another secret is not found.
      assert.equal((await verify(unknown)).code, 20)
      const lib = await import(path.join(ROOT, 'dist/src/keys/format.js'))
      const [prefix, id] = valid.split('_')
      const forged = lib.formatKey(prefix, id, 'x'.repeat(33))
      const r = await verify(forged, '--json')
      assert.equal(r.code, 21)
      assert.equal(json(r).error.code, 'KEY_NOT_FOUND')
      const human = await verify(valid)
      assert.match(human.stdout, /valid: API key valid \(\w{12}\), scopes: echo/)
    })

    it('the checksum rejects every single-character change to a key', async () => {
      const key = await newKey('typo', '--scope', 'echo')
      const {parseKey} = await import(path.join(ROOT, 'dist/src/keys/format.js'))
      const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-.'
      let tried = 0
      for (let i = 0; i < key.length; i++) {
        for (const c of alphabet) {
          if (c === key[i]) continue
          const changed = key.slice(0, i) + c + key.slice(i + 1)
          assert.equal(parseKey(changed), undefined, `change at ${i} to ${c} accepted`)
          tried++
        }
      }
      assert.ok(tried > 3000)
      assert.ok(parseKey(key), 'the original parses')
      // And through the CLI, for a sample of positions.
      for (const i of [0, 5, 20, 40, key.length - 1]) {
        const changed = key.slice(0, i) + (key[i] === 'Z' ? 'Y' : 'Z') + key.slice(i + 1)
        assert.equal((await verify(changed)).code, 20)
      }
    })

    it('never reads the key from argv', async () => {
      const key = await newKey('argv', '--scope', 'echo')
      const r = await box.run(['keys', 'verify', key])
      assert.equal(r.code, 2, 'a positional key is refused as an unexpected argument')
    })
  })

  describe('list, show, revoke', () => {
    it('list hides revoked and expired keys unless --all', async () => {
      await newKey('alive', '--scope', 'echo')
      await newKey('gone', '--scope', 'echo')
      await newKey('old', '--scope', 'echo', '--expires', '1s')
      await box.run(['keys', 'revoke', 'gone', '--yes', '--reason', 'leaked in a log'])
      await sleep(1100)
      const names = (r: Result) => json(r).keys.map((k: {name: string}) => k.name).sort()
      assert.deepEqual(names(await box.run(['keys', 'list', '--json'])), ['alive'])
      const all = await box.run(['keys', 'list', '--all', '--json'])
      assert.deepEqual(names(all), ['alive', 'gone', 'old'])
      const statuses = Object.fromEntries(json(all).keys.map((k: {name: string; status: string}) => [k.name, k.status]))
      assert.deepEqual(statuses, {alive: 'active', gone: 'revoked', old: 'expired'})
      const table = await box.run(['keys', 'list', '--all'])
      assert.match(table.stdout, /^ID\s+NAME\s+START\s+SCOPES\s+STATUS\s+CREATED\s+EXPIRES/)
      assert.match(table.stdout, /gone .*revoked/)
    })

    it('show finds a key by id or by name, and revoke records when and why', async () => {
      const key = await newKey('shown', '--scope', 'readonly')
      const id = key.split('_')[1]
      const byName = json(await box.run(['keys', 'show', 'shown', '--json'])).key
      const byId = json(await box.run(['keys', 'show', id, '--json'])).key
      assert.deepEqual(byName, byId)
      assert.equal(byName.start, `kw_${id}_${key.split('_')[2].slice(0, 4)}`)
      let r = await box.run(['keys', 'revoke', id])
      assert.equal(r.code, 11, 'no --yes and no terminal')
      r = await box.run(['keys', 'revoke', id, '--yes', '--reason', 'rotated out', '--json'])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(json(r).key.revoked.reason, 'rotated out')
      r = await box.run(['keys', 'show', 'shown'])
      assert.match(r.stdout, /revoked\s+\S+ \(rotated out\)/)
      r = await box.run(['keys', 'revoke', 'shown', '--yes'])
      assert.equal(r.code, 2)
      assert.match(r.stderr, /already revoked/)
      r = await box.run(['keys', 'show', 'nobody'])
      assert.equal(r.code, 9)
    })
  })

  describe('scope', () => {
    it('adds, removes and sets patterns, printing before and after', async () => {
      await newKey('scoped', '--scope', 'readonly')
      let r = await box.run(['keys', 'scope', 'scoped', '--add', 'echo', '--add', '!list_secrets'])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /before: get_\* list_\*\n\s+after:\s+get_\* list_\* echo !list_secrets/)
      r = await box.run(['keys', 'scope', 'scoped', '--remove', 'list_*', '--json'])
      assert.deepEqual(json(r).after, ['get_*', 'echo', '!list_secrets'])
      r = await box.run(['keys', 'scope', 'scoped', '--set', 'limited', '--json'])
      assert.deepEqual(json(r).before, ['get_*', 'echo', '!list_secrets'])
      assert.deepEqual(json(r).after, ['hello_world', 'echo'])
      r = await box.run(['keys', 'scope', 'scoped', '--remove', 'get_*'])
      assert.equal(r.code, 2)
      assert.match(r.stderr, /is not on API key scoped/)
      r = await box.run(['keys', 'scope', 'scoped', '--set', '!echo'])
      assert.equal(r.code, 2)
      assert.match(r.stderr, /grant nothing/)
      r = await box.run(['keys', 'scope', 'scoped'])
      assert.equal(r.code, 2)
    })

    it('matches as documented: deny by default, exclusions win, * crosses dots', async () => {
      const {ScopeSet, expandScopes} = await import(path.join(ROOT, 'dist/src/policy/index.js'))
      const set = (...p: string[]) => new ScopeSet(expandScopes(p))
      const allows = (s: {allows: (k: string, n: string) => boolean}, name: string, kind = 'tool') => s.allows(kind, name)
      assert.equal(allows(set('readonly'), 'get_user'), true)
      assert.equal(allows(set('readonly'), 'list_repos'), true)
      assert.equal(allows(set('readonly'), 'delete_repo'), false)
      assert.equal(allows(set('readonly'), 'prefix_get_x'), false, 'anchored')
      assert.equal(allows(set('github.*'), 'github.create_issue'), true)
      assert.equal(allows(set('github.*'), 'github.issues.create'), true)
      assert.equal(allows(set('github.*'), 'gitlab.create'), false)
      assert.equal(allows(set('*', '!debug_*'), 'debug_info'), false, 'exclusion wins over a grant')
      assert.equal(allows(set('!debug_*', '*'), 'debug_info'), false, 'whatever the order')
      assert.equal(allows(set('*', '!debug_*'), 'echo'), true)
      assert.equal(allows(set('limited'), 'echo'), true)
      assert.equal(allows(set('limited'), 'get_time'), false)
      assert.equal(allows(set('echo'), 'echo', 'prompt'), false, 'a tool pattern does not grant prompts')
      assert.equal(allows(set('prompt:summar?ze'), 'summarize', 'prompt'), true)
      assert.equal(allows(set('resource:file:///docs/**'), 'file:///docs/a/b.md', 'resource'), true)
      assert.equal(allows(set('resource:file:///docs/*'), 'file:///docs/a/b.md', 'resource'), false)
      assert.equal(allows(set('full'), 'anything.at_all', 'tool'), true)
      assert.equal(allows(set('full'), 'file:///x/y', 'resource'), true)
      assert.throws(() => expandScopes(['get_{a,b}']), /can never match/, 'braces are not glob syntax here')
    })
  })

  describe('rotate', () => {
    it('keeps the old key valid through the grace period, then only the new one', async () => {
      const old = await newKey('rotating', '--scope', 'echo', '--rate', '10/s')
      const r = await box.run(['keys', 'rotate', 'rotating', '--grace', '3s', '--json'])
      assert.equal(r.code, 0, r.stderr)
      const {key: fresh, record} = json(r)
      assert.match(fresh, KEY_SHAPE)
      assert.notEqual(fresh, old)
      assert.equal(record.id, old.split('_')[1], 'same key id')
      assert.deepEqual(record.scopes, ['echo'])
      assert.deepEqual(record.rateLimit, {limit: 10, windowSeconds: 1})
      assert.equal((await verify(old)).code, 0, 'old key valid during grace')
      assert.equal((await verify(fresh)).code, 0, 'new key valid')
      await sleep(3100)
      assert.equal((await verify(old)).code, 21, 'old key refused after grace')
      assert.equal((await verify(fresh)).code, 0, 'new key still valid')
      assert.ok(!(await decryptedPayload()).includes(fresh.split('_')[2].slice(0, 33)))
    })

    it('without --grace the old key stops at once; grace never outlives the key', async () => {
      const old = await newKey('instant', '--scope', 'echo', '--expires', '2s')
      let r = await box.run(['keys', 'rotate', 'instant', '--grace', '1h', '--json'])
      const graceEnd = Date.parse(json(r).record.graceSecrets[0].validUntil)
      assert.ok(graceEnd <= Date.parse(json(r).record.expires), 'grace capped at the expiry')
      const middle = json(r).key
      r = await box.run(['keys', 'rotate', 'instant'])
      assert.equal(r.code, 0)
      assert.match(r.stderr, /old key no longer works/)
      const newest = r.stdout.trim()
      assert.equal((await verify(newest)).code, 0)
      assert.equal((await verify(middle)).code, 21, 'rotated without --grace: refused at once')
      assert.equal((await verify(old)).code, 0, 'the first old key is still in its (capped) grace')
      await sleep(2100)
      assert.equal((await verify(old)).code, 21)
      assert.equal((await verify(newest)).code, 23, 'the key itself has expired')
      r = await box.run(['keys', 'rotate', 'instant'])
      assert.equal(r.code, 2, 'an expired key cannot be rotated')
      assert.equal((await box.run(['keys', 'rotate', 'instant', '--grace', 'soon'])).code, 2)
    })
  })

  describe('import', () => {
    it("stores the seed's api_keys.json hashed, with permissions as scopes", async () => {
      const file = box.path('config', 'api_keys.json')
      await fs.mkdir(path.dirname(file), {recursive: true})
      await fs.writeFile(file, JSON.stringify(SEED_FILE, null, 2))
      const r = await box.run(['keys', 'import', file])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stderr, new RegExp(`delete the plaintext file.*${file.replace(/[/.]/g, '\\$&')}`, 's'))
      for (const [name, key] of Object.entries(SEED_FILE.api_keys)) {
        const v = await verify(key, '--json')
        assert.equal(v.code, 0, `${name}: ${v.stdout}`)
        assert.equal(json(v).key.name, name)
        assert.deepEqual(json(v).key.scopes, SEED_FILE.key_permissions[name as keyof typeof SEED_FILE.key_permissions])
      }
      const payload = await decryptedPayload()
      for (const key of Object.values(SEED_FILE.api_keys)) assert.ok(!payload.includes(key), 'only hashes are stored')
      assert.equal((await verify('sk-prod-0000000000000000')).code, 21)
      const again = await box.run(['keys', 'import', file])
      assert.equal(again.code, 10, 'a second import changes nothing')
      const rotated = await box.run(['keys', 'rotate', 'production', '--json'])
      assert.match(json(rotated).key, KEY_SHAPE, 'rotating a legacy key gives a keyward key')
      assert.equal((await verify(SEED_FILE.api_keys.production)).code, 21)
    })

    it('refuses a malformed file and imports nothing', async () => {
      const file = box.path('bad.json')
      await fs.writeFile(file, JSON.stringify({api_keys: {ok: 'sk-ok-1234567890abcdef', bad: 'sk-bad-1234567890abcd'}, key_permissions: {ok: ['*'], bad: ['x/y']}}))
      const before = await fs.readFile(box.vault)
      const r = await box.run(['keys', 'import', file])
      assert.equal(r.code, 2)
      assert.deepEqual(await fs.readFile(box.vault), before)
      await fs.writeFile(file, '{not json')
      assert.equal((await box.run(['keys', 'import', file])).code, 2)
    })
  })
})
