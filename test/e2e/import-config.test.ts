/**
 * `keyward import-config` (issue 16, items 11-16) through the built CLI: placeholders, which
 * values become secrets, a rewritten config that starts as a client starts it, no credential in
 * any config, symlinked and JSONC configs. The migrated servers are the fixture upstream, and
 * each new config is started exactly as a client does: a minimal environment plus its entry.
 */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'

import {Bed} from '../helpers/bed.js'
import {collect, json, ROOT} from '../helpers/cli.js'

const FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'upstream-server.js')
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')
const textOf = (r: unknown) => ((r as {content: {text: string}[]}).content[0]?.text ?? '')
const TOKEN = 'ghp_IMPORTtestTOKEN0123456789abcdefghijkl'

interface Entry {
  command: string
  args: string[]
  env: Record<string, string>
}

describe('import-config', function () {
  this.timeout(90_000)
  const bed = new Bed()
  const clients: Client[] = []
  beforeEach(() => bed.setUp())
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})))
    await bed.tearDown()
  })

  /** What a client's environment is: HOME and PATH, nothing of the shell that ran the import. */
  const minimal = () => ({HOME: bed.box.dir, PATH: process.env.PATH ?? ''})

  /** Starts a config entry exactly as a client does, and connects to it. */
  async function start(entry: Entry): Promise<Client> {
    const client = new Client({name: 'client', version: '1'})
    await client.connect(new StdioClientTransport({command: entry.command, args: entry.args, env: {...minimal(), ...entry.env}, stderr: 'pipe'}))
    clients.push(client)
    return client
  }

  async function write(file: string, text: string): Promise<string> {
    const full = bed.box.path(file)
    await fs.mkdir(path.dirname(full), {recursive: true})
    await fs.writeFile(full, text)
    return full
  }

  async function secretValue(name: string): Promise<string> {
    return (await bed.cli(['secrets', 'get', name])).stdout
  }

  it('placeholders: fills in ${env:X}, ${X}, ${X:-default}, ${workspaceFolder} and the envFile, and leaves ${input:…} servers as they are', async () => {
    const file = await write(
      'project/.vscode/mcp.json',
      JSON.stringify({
        servers: {
          fromEnv: {type: 'stdio', command: process.execPath, args: [FIXTURE], env: {FIXTURE_SECRET: '${env:IMPORT_TEST_TOKEN}'}},
          claude: {command: process.execPath, args: [FIXTURE], env: {FIXTURE_SECRET: '${IMPORT_TEST_TOKEN}', FIXTURE_MODE: '${UNSET_IMPORT_VAR:-fallback}'}},
          envFile: {command: process.execPath, args: [FIXTURE], envFile: '${workspaceFolder}/.env'},
          asks: {command: process.execPath, args: [FIXTURE], env: {FIXTURE_SECRET: '${input:github_token}'}},
          unset: {command: process.execPath, args: [FIXTURE], env: {FIXTURE_SECRET: '${env:UNSET_IMPORT_VAR}'}},
        },
        inputs: [{id: 'github_token', type: 'promptString', password: true}],
      }),
    )
    await write('project/.env', `# the server's secret\nFIXTURE_SECRET="from-env-file-${TOKEN.slice(4)}"\n`)
    const env = {IMPORT_TEST_TOKEN: TOKEN}
    const dry = await bed.box.run(['import-config', file], {env})
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stdout, /filled in: fromEnv: \$\{env:IMPORT_TEST_TOKEN\}/)
    assert.match(dry.stdout, /filled in: claude: \$\{UNSET_IMPORT_VAR:-fallback\}/)
    assert.match(dry.stdout, /left as it is: asks \(its env FIXTURE_SECRET holds \$\{input:github_token\}/)
    assert.match(dry.stdout, /left as it is: unset \(its env FIXTURE_SECRET holds \$\{env:UNSET_IMPORT_VAR\}/)
    assert.ok(!dry.stdout.includes(TOKEN), 'a filled-in value is never shown')
    const r = json(await bed.box.run(['import-config', file, '--write', '--json'], {env}))
    assert.deepEqual(r.upstreams.sort(), ['claude', 'envfile', 'fromenv'])
    assert.deepEqual(r.skipped.map((s: {entry: string}) => s.entry).sort(), ['asks', 'unset'])
    assert.equal(await secretValue('FROMENV_FIXTURE_SECRET'), TOKEN)
    assert.equal(await secretValue('CLAUDE_FIXTURE_SECRET'), TOKEN)
    assert.equal(await secretValue('ENVFILE_FIXTURE_SECRET'), `from-env-file-${TOKEN.slice(4)}`)
    for (const s of json(await bed.cli(['secrets', 'list', '--json'])).secrets) assert.ok(!(await secretValue(s.name)).includes('${'), `${s.name} holds no placeholder`)
    const config = JSON.parse(await fs.readFile(file, 'utf8'))
    assert.deepEqual(Object.keys(config.servers).sort(), ['asks', 'keyward', 'unset'])
    const c = await start(config.servers.keyward)
    assert.equal(textOf(await c.callTool({name: 'fromenv__get_secret_hash', arguments: {}})), sha256(TOKEN))
    assert.equal(textOf(await c.callTool({name: 'envfile__get_secret_hash', arguments: {}})), sha256(`from-env-file-${TOKEN.slice(4)}`))
    assert.match(textOf(await c.callTool({name: 'claude__get_process', arguments: {}})), /FIXTURE_MODE/)
  })

  it('a write that fails leaves the vault byte for byte as it was, and the config and no backup behind', async () => {
    const file = await write('claude.json', JSON.stringify({mcpServers: {fx: {command: process.execPath, args: [FIXTURE], env: {GITHUB_TOKEN: TOKEN}}}}))
    const config = await fs.readFile(file, 'utf8')
    // The API key file's directory cannot be made: a file stands where it would go.
    await write('config/keyward/api-keys', 'in the way')
    const vault = await fs.readFile(bed.box.vault)
    const r = await bed.box.run(['import-config', file, '--write'])
    assert.equal(r.code, 8, r.stderr)
    assert.match(r.stderr, /api-keys/)
    assert.ok((await fs.readFile(bed.box.vault)).equals(vault), 'the vault is byte for byte as it was')
    assert.equal(await fs.readFile(file, 'utf8'), config, 'the config is as it was')
    assert.deepEqual((await fs.readdir(path.dirname(file))).filter((n) => n.includes('keyward-backup') || n.endsWith('.tmp')), [], 'no backup or temp file is left')
  })

  it('only credentials become secrets; a plain value is never redacted; --secret and --plain decide', async () => {
    const random = 'Zq9xV3mK8pL2wR7tY4nB6cD1'
    const file = await write(
      'claude.json',
      JSON.stringify({
        mcpServers: {
          fx: {command: process.execPath, args: [FIXTURE], env: {NODE_ENV: 'production', LOG_FORMAT: 'structured-json', API_KEY: 'shortkey', UPSTREAM_ID: random, DATABASE_URL: 'postgresql://app:pw-12345678@db/app', REGION: 'eu-central-1'}},
        },
      }),
    )
    const refused = await bed.box.run(['import-config', file, '--plain', 'DATABASE_URL'])
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /--plain DATABASE_URL/)
    assert.equal((await bed.box.run(['import-config', file, '--plain', 'NOPE'])).code, 2)
    const r = json(await bed.box.run(['import-config', file, '--write', '--json', '--secret', 'REGION']))
    assert.deepEqual(r.secrets.sort(), ['FX_API_KEY', 'FX_DATABASE_URL', 'FX_REGION', 'FX_UPSTREAM_ID'])
    assert.deepEqual(r.plain.map((p: {variable: string}) => p.variable).sort(), ['LOG_FORMAT', 'NODE_ENV'])
    const shown = json(await bed.cli(['upstream', 'show', 'fx', '--json'])).upstream
    assert.equal(shown.env.NODE_ENV, 'production')
    assert.equal(shown.env.UPSTREAM_ID, 'secret:FX_UPSTREAM_ID', 'random-looking: a secret')
    const c = await start(JSON.parse(await fs.readFile(file, 'utf8')).mcpServers.keyward)
    assert.equal(textOf(await c.callTool({name: 'fx__set_value', arguments: {value: 'production structured-json'}})), 'set production structured-json', 'a plain value is not redacted')
    assert.equal(textOf(await c.callTool({name: 'fx__set_value', arguments: {value: `x${random}`}})), 'set x[REDACTED:FX_UPSTREAM_ID]')
  })

  it('the rewritten config starts with a minimal environment: a non-default vault and state directory are named', async () => {
    const state = bed.box.path('elsewhere', 'state')
    const file = await write('claude.json', JSON.stringify({mcpServers: {fx: {command: process.execPath, args: [FIXTURE], env: {FIXTURE_SECRET: TOKEN}}}}))
    const r = await bed.box.run(['import-config', file, '--write'], {env: {XDG_STATE_HOME: state}})
    assert.equal(r.code, 0, r.stderr)
    const entry: Entry = JSON.parse(await fs.readFile(file, 'utf8')).mcpServers.keyward
    assert.equal(entry.env.KEYWARD_VAULT, bed.box.vault, 'the sandbox vault is not the default one')
    assert.equal(entry.env.XDG_STATE_HOME, state)
    const c = await start(entry)
    assert.equal(textOf(await c.callTool({name: 'fx__get_secret_hash', arguments: {}})), sha256(TOKEN))
  })

  for (const format of ['.mcp.json', '.vscode/mcp.json', 'claude_desktop_config.json']) {
    it(`${format}: no credential in the config; the key is in a 0600 file that serve reads, checked as key files are`, async () => {
      const body = format === '.vscode/mcp.json' ? {servers: {fx: {type: 'stdio', command: process.execPath, args: [FIXTURE], env: {FIXTURE_SECRET: TOKEN}}}} : {mcpServers: {fx: {command: process.execPath, args: [FIXTURE], env: {FIXTURE_SECRET: TOKEN}}}}
      const file = await write(path.join('repo', format), JSON.stringify(body, null, 2))
      const r = json(await bed.box.run(['import-config', file, '--write', '--json']))
      const text = await fs.readFile(file, 'utf8')
      assert.ok(!/kw_[0-9A-Za-z]/.test(text) && !text.includes('KEYWARD_API_KEY"') && !text.includes(TOKEN), `no credential in:\n${text}`)
      const config = JSON.parse(text)
      const entry: Entry = (config.mcpServers ?? config.servers).keyward
      assert.equal(entry.env.KEYWARD_API_KEY_FILE, r.apiKeyFile)
      assert.ok(r.apiKeyFile.startsWith(bed.box.path('config', 'keyward')), r.apiKeyFile)
      assert.equal(((await fs.stat(r.apiKeyFile)).mode & 0o777).toString(8), '600')
      const c = await start(entry)
      assert.equal(textOf(await c.callTool({name: 'fx__get_secret_hash', arguments: {}})), sha256(TOKEN))
      await c.close()
      await fs.chmod(r.apiKeyFile, 0o644)
      const open = await collect(bed.box.spawn(['serve', '--transport', 'stdio'], {env: {...minimal(), ...entry.env}}))
      assert.equal(open.code, 8, open.stderr)
      assert.match(open.stderr, /API key file .* is accessible by other users/)
      await fs.chmod(r.apiKeyFile, 0o600)
      const both = await collect(bed.box.spawn(['serve', '--transport', 'stdio'], {env: {...minimal(), ...entry.env, KEYWARD_API_KEY: 'kw_x'}}))
      assert.equal(both.code, 2, both.stderr)
    })
  }

  it('a symlinked config is written through the link', async () => {
    const target = await write('dotfiles/claude.json', JSON.stringify({mcpServers: {fx: {command: process.execPath, args: [FIXTURE], env: {FIXTURE_SECRET: TOKEN}}}}))
    const link = bed.box.path('.config', 'Claude', 'claude_desktop_config.json')
    await fs.mkdir(path.dirname(link), {recursive: true})
    await fs.symlink(target, link)
    const r = json(await bed.box.run(['import-config', link, '--write', '--json']))
    assert.ok((await fs.lstat(link)).isSymbolicLink(), 'the link stays a link')
    assert.equal(await fs.readlink(link), target)
    const written = await fs.readFile(target, 'utf8')
    assert.ok(!written.includes(TOKEN), 'the file the link points to holds no secret any more')
    assert.ok(JSON.parse(written).mcpServers.keyward)
    assert.ok(r.backup.startsWith(path.dirname(link)), 'the backup, which holds the secrets, is beside the link, not in the dotfiles')
  })

  it('a VS Code mcp.json with comments and trailing commas is read, and its comments kept', async () => {
    const text = `{
  // My MCP servers
  "servers": {
    /* the fixture */
    "fx": {
      "type": "stdio",
      "command": ${JSON.stringify(process.execPath)},
      "args": [${JSON.stringify(FIXTURE)},],
      "env": {"FIXTURE_SECRET": "${TOKEN}"}, // a plaintext token
    },
    "other": {"type": "sse", "url": "https://mcp.example/sse",}, // keep me
  },
  "inputs": [],
}
`
    const file = await write('ws/.vscode/mcp.json', text)
    json(await bed.box.run(['import-config', file, '--write', '--json']))
    const written = await fs.readFile(file, 'utf8')
    for (const comment of ['// My MCP servers', '// keep me', '"inputs": []']) assert.ok(written.includes(comment), `${comment} kept in:\n${written}`)
    assert.ok(!written.includes(TOKEN))
    const {parse} = await import('jsonc-parser')
    const config = parse(written)
    assert.deepEqual(Object.keys(config.servers).sort(), ['keyward', 'other'])
    assert.equal(config.servers.keyward.type, 'stdio')
    const bad = await write('ws2/.vscode/mcp.json', '{"servers": {"a": }}')
    const r = await bed.box.run(['import-config', bad])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /line 1, column/)
  })

  it('a server whose arguments hold a credential is left as it is', async () => {
    const file = await write(
      'claude.json',
      JSON.stringify({mcpServers: {a: {command: 'server', args: ['--api-key=sk-abcdefghijklmnopqrstuvwx']}, b: {command: 'server', args: ['postgresql://user:hunter2pass@host/db']}, c: {command: 'server', args: ['--token=plainvalue']}}}),
    )
    const r = await bed.box.run(['import-config', file])
    assert.match(r.stdout, /0 server\(s\) to import/)
    for (const entry of ['a', 'b', 'c']) assert.match(r.stdout, new RegExp(`left as it is: ${entry} \\(argument 1 holds`))
    assert.ok(!/sk-abcdef|hunter2pass|plainvalue/.test(r.stdout.split('becomes:')[0]), 'the plan names no credential')
  })
})
