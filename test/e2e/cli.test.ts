import assert from 'node:assert/strict'
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {json, ROOT, Sandbox} from '../helpers/cli.js'

interface ManifestCommand {
  id: string
  enableJsonFlag?: boolean
  examples?: unknown[]
  flags: Record<string, unknown>
}

describe('CLI conventions', function () {
  let box: Sandbox
  let commands: ManifestCommand[]
  before(async () => {
    const manifest = JSON.parse(await fs.readFile(path.join(ROOT, 'oclif.manifest.json'), 'utf8'))
    commands = Object.values(manifest.commands) as ManifestCommand[]
  })
  beforeEach(() => {
    box = new Sandbox()
  })
  afterEach(() => box.cleanup())

  it('every command has --help with examples', async () => {
    assert.ok(commands.length >= 18, `found ${commands.length} commands`)
    for (const command of commands) {
      const r = await box.run([...command.id.split(':'), '--help'])
      assert.equal(r.code, 0, `${command.id}: ${r.stderr}`)
      assert.match(r.stdout, /EXAMPLES/, `${command.id} --help has examples`)
      assert.match(r.stdout, /--no-color/, `${command.id} --help lists --no-color`)
    }
  })

  it('every command that prints data has --json', () => {
    const printsData = commands.filter((c) => !['serve', 'up', 'run'].includes(c.id))
    for (const command of printsData) assert.ok(command.enableJsonFlag, `${command.id} has --json`)
  })

  it('under --json a bad flag gives {"error":{code,message}} and nothing else: no config, no argv', async () => {
    await box.initWithKeyFile()
    const r = await box.run(['keys', 'generate', '--json', '--bogus', 'value'])
    assert.equal(r.code, 2)
    assert.equal(r.stderr, '')
    const out = json(r)
    assert.deepEqual(Object.keys(out), ['error'])
    assert.deepEqual(Object.keys(out.error).sort(), ['code', 'message'])
    assert.equal(out.error.code, 'INVALID_INPUT')
    assert.ok(!r.stdout.includes('pjson') && !r.stdout.includes('argv') && !r.stdout.includes(ROOT), 'no parse context leaks')
  })

  it('errors are one line without a stack trace, unless DEBUG is set', async () => {
    let r = await box.run(['secrets', 'list'])
    assert.equal(r.code, 3)
    assert.equal(r.stderr.trim().split('\n').length, 1)
    assert.match(r.stderr, /^keyward: no vault at/)
    r = await box.run(['secrets', 'list'], {env: {DEBUG: '1'}})
    assert.match(r.stderr, /\n\s+at \S+/, 'stack under DEBUG')
  })

  it('a secret value is never taken from argv', async () => {
    await box.initWithKeyFile()
    const before = await fs.readFile(box.vault)
    const r = await box.run(['secrets', 'set', 'TOKEN', 'value-on-the-command-line'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /unexpected argument \(not shown\)/)
    assert.ok(!r.stderr.includes('value-on-the-command-line'), 'the stray value is not echoed')
    assert.deepEqual(await fs.readFile(box.vault), before)
    const passFlag = await box.run(['init', '--passphrase', 'hunter2hunter2'])
    assert.equal(passFlag.code, 2, 'there is no passphrase flag')
  })

  it('a planted secret appears only in `secrets get`: not in any other output, error or the file', async () => {
    const SECRET = 'PLANTED-never-leak-7b3e9'
    await box.initWithKeyFile()
    const outputs: string[] = []
    // Each command must end as expected: a command that failed early would make "nothing leaked" vacuous.
    const run = async (expected: number, args: string[], input?: string) => {
      const r = await box.run(args, {input})
      outputs.push(r.stdout, r.stderr)
      assert.equal(r.code, expected, `${args.join(' ')}: ${r.stderr}`)
      return r
    }
    await run(0, ['secrets', 'set', 'PLANTED', '--description', 'planted'], SECRET)
    await run(0, ['secrets', 'set', 'PLANTED', '--json'], SECRET)
    await run(0, ['secrets', 'list'])
    await run(0, ['secrets', 'list', '--json'])
    await run(0, ['vault', 'status'])
    await run(0, ['vault', 'status', '--json'])
    await run(0, ['vault', 'rotate', '--json'])
    await run(2, ['secrets', 'set', 'bad name'], SECRET)
    await run(2, ['secrets', 'set', 'X', '--from-file', '/nonexistent'], SECRET)
    await run(2, ['secrets', 'set'], SECRET)
    await run(2, ['secrets', 'get'], SECRET)
    await run(20, ['keys', 'verify'], SECRET)
    await run(20, ['keys', 'verify', '--json'], SECRET)
    await run(2, ['keys', 'import', '/nonexistent'])
    await run(11, ['secrets', 'rm', 'PLANTED'])
    for (const out of outputs) assert.ok(!out.includes(SECRET), `leaked in: ${out.slice(0, 200)}`)
    for (const file of [box.vault, `${box.vault}.bak`]) assert.ok(!(await fs.readFile(file, 'utf8')).includes(SECRET), file)
    assert.equal((await box.run(['secrets', 'get', 'PLANTED'])).stdout, SECRET)
  })
})
