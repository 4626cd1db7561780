/**
 * Hostile upstreams (issues 15 and 18): a sandboxed upstream tries, and fails, to read the key
 * file, the vault, another upstream's allowed directory and a file in the operator's HOME, to
 * leave a detached process behind after `kill -9` of keyward, and to reach the network with
 * --network off. In the same run an unsandboxed upstream succeeds at each (a process left
 * behind needs the pre-namespace containment, the process group alone), which shows the test
 * can fail. Also: the private HOME of every upstream, the fd-3 lifeline, and the one-line
 * errors where no sandbox can start.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {closeSync, mkdtempSync, openSync, promises as fs, rmSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import path from 'node:path'

import type {Client} from '@modelcontextprotocol/sdk/client/index.js'

import {BIN, collect, json, ROOT, Sandbox, sleep, until} from '../helpers/cli.js'
import {fillerServer, type FillerServer} from '../helpers/filler.js'
import {alive, hostPid} from '../helpers/processes.js'
import {bearer, httpClient, startServe, type RunningServe} from '../helpers/server.js'

const HOSTILE = path.join(ROOT, 'dist', 'test', 'fixtures', 'hostile-upstream.js')
const FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'upstream-server.js')
const textOf = (r: unknown) => ((r as {content: {text: string}[]}).content[0]?.text ?? '')
const linux = process.platform === 'linux'
/**
 * Not under /tmp: a sandbox has a /tmp of its own, which would hide these files whatever else
 * it did. An operator's HOME is elsewhere too.
 */
const BASE = '/var/tmp'

describe('hostile upstreams', function () {
  this.timeout(120_000)
  let box: Sandbox
  let allowed: string
  const running: RunningServe[] = []
  const clients: Client[] = []
  const strays: number[] = []

  async function cli(args: string[], input?: string, env: Record<string, string | undefined> = {}) {
    const r = await box.run(args, {input, env})
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    return r
  }

  async function serve(args: string[] = [], env: Record<string, string | undefined> = {}) {
    const s = await startServe(box, ['--stateless', ...args], env)
    running.push(s)
    return s
  }

  /** A key made before any server starts: one made later may reach a running server only after its reload. */
  let key: string

  async function connect(s: RunningServe): Promise<Client> {
    const c = await httpClient(s.url, bearer(key))
    clients.push(c)
    return c
  }

  const call = async (c: Client, name: string, args: Record<string, unknown> = {}) => textOf(await c.callTool({name, arguments: args}))
  const read = async (c: Client, upstream: string, file: string) => JSON.parse(await call(c, `${upstream}__read_file`, {path: file})) as {ok: boolean; text?: string; code?: string}

  before(function () {
    if (linux && spawnSync('bwrap', ['--version']).status === 0) return
    // CI installs bubblewrap (.ci/run) and sets KEYWARD_REQUIRE_BWRAP: there, a missing one fails.
    if (process.env.KEYWARD_REQUIRE_BWRAP) throw new Error('bubblewrap is not installed: apt-get install bubblewrap')
    console.warn('    bubblewrap is not installed (apt-get install bubblewrap), or this is not Linux: these tests are skipped')
    this.skip()
  })

  beforeEach(async function () {
    box = new Sandbox(BASE)
    await box.initWithKeyFile()
    key = (await cli(['keys', 'generate', '--name', 'client', '--scope', '*'])).stdout.trim()
    allowed = mkdtempSync(path.join(BASE, 'keyward-allowed-'))
    await fs.writeFile(path.join(allowed, 'other.txt'), 'what only the other upstream may read')
    await fs.writeFile(box.path('planted.txt'), 'planted in the operator HOME')
  })

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})))
    await Promise.all(running.splice(0).map((s) => s.stop()))
    for (const pid of strays.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL')
    rmSync(allowed, {recursive: true, force: true})
    await box?.cleanup()
  })

  it('a sandboxed upstream cannot read the key file, the vault, another upstream’s path or the operator’s HOME, nor reach the network with --network off; an unsandboxed one can', async () => {
    await cli(['upstream', 'add', 'jailed', '--sandbox', '--allow-path', `${ROOT}:ro`, '--network', 'off', '--', process.execPath, HOSTILE])
    await cli(['upstream', 'add', 'other', '--sandbox', '--allow-path', `${ROOT}:ro`, '--allow-path', `${allowed}:rw`, '--', process.execPath, HOSTILE])
    await cli(['upstream', 'add', 'free', '--', process.execPath, HOSTILE])
    // Allowed the operator's whole HOME: keyward's own files in it stay hidden.
    await cli(['upstream', 'add', 'nosy', '--sandbox', '--allow-path', `${ROOT}:ro`, '--allow-path', `${box.dir}:ro`, '--', process.execPath, HOSTILE])
    const listener: Server = createServer((socket) => socket.end())
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', () => resolve()))
    const port = (listener.address() as {port: number}).port
    try {
      const s = await serve()
      const c = await connect(s)
      const targets = {'the key file': box.env.KEYWARD_KEY_FILE, 'the vault': box.vault, "another upstream's allowed path": path.join(allowed, 'other.txt'), "a file in the operator's HOME": box.path('planted.txt')}
      for (const [what, file] of Object.entries(targets)) {
        const jailed = await read(c, 'jailed', file)
        assert.equal(jailed.ok, false, `the sandboxed upstream read ${what}`)
        assert.equal(jailed.code, 'ENOENT', `${what}: ${jailed.code}`)
        assert.equal((await read(c, 'free', file)).ok, true, `the unsandboxed upstream reads ${what}: the test can fail`)
      }
      assert.equal((await read(c, 'other', path.join(allowed, 'other.txt'))).text, 'what only the other upstream may read', 'its own allowed path it reads')
      assert.equal((await read(c, 'nosy', box.path('planted.txt'))).ok, true, 'an allowed HOME is readable')
      for (const file of [box.env.KEYWARD_KEY_FILE, box.vault]) assert.equal((await read(c, 'nosy', file)).ok, false, `${file} stays hidden inside an allowed path`)
      if (process.getuid?.() === 0) {
        assert.equal((await read(c, 'jailed', '/etc/shadow')).ok, false, 'password hashes are masked even for root')
        assert.equal((await read(c, 'free', '/etc/shadow')).ok, true)
      }
      assert.notEqual(await call(c, 'jailed__connect', {host: '127.0.0.1', port}), 'connected', '--network off: not even the host’s loopback')
      assert.equal(await call(c, 'free__connect', {host: '127.0.0.1', port}), 'connected', 'the unsandboxed upstream connects: the test can fail')
      assert.equal(await call(c, 'other__connect', {host: '127.0.0.1', port}), 'connected', 'a sandbox with the network on connects')
      const jailedProc = JSON.parse(await call(c, 'jailed__get_process'))
      const freeProc = JSON.parse(await call(c, 'free__get_process'))
      assert.equal(jailedProc.home, '/home/upstream', 'a private HOME, at a neutral path')
      assert.equal(jailedProc.cwd, '/home/upstream')
      assert.match(freeProc.home, /upstreams\/[^/]+\/free\/home$/, 'unsandboxed too: a private HOME, not the operator’s')
      assert.notEqual(freeProc.home, box.dir)
      assert.match(s.logs(), /upstream jailed is ready \([^;)]*; pid \d+, sandbox\)/)
      assert.match(s.logs(), /upstream free is ready \([^;)]*; pid \d+, pid-namespace\)/)
    } finally {
      listener.close()
    }
  })

  it('a sandboxed command installed in ~/.local/bin (as pipx and uv put them) runs, and cannot read the rest of ~/.local: other programs’ data and tokens (review)', async () => {
    await fs.mkdir(box.path('.local', 'bin'), {recursive: true})
    await fs.symlink(process.execPath, box.path('.local', 'bin', 'node'))
    await fs.mkdir(box.path('.local', 'share', 'someapp'), {recursive: true})
    const token = box.path('.local', 'share', 'someapp', 'auth.json')
    await fs.writeFile(token, '{"token":"another program\'s token"}')
    await cli(['upstream', 'add', 'local', '--sandbox', '--network', 'off', '--allow-path', `${ROOT}:ro`, '--', box.path('.local', 'bin', 'node'), HOSTILE])
    await cli(['upstream', 'add', 'free', '--', box.path('.local', 'bin', 'node'), HOSTILE])
    const c = await connect(await serve())
    const jailed = await read(c, 'local', token)
    assert.equal(jailed.ok, false, 'the sandboxed upstream read ~/.local/share')
    assert.equal(jailed.code, 'ENOENT')
    assert.equal((await read(c, 'free', token)).ok, true, 'the unsandboxed upstream reads it: the test can fail')
  })

  it('kill -9 of keyward leaves no detached grandchild, sandboxed or not; with the process group alone one survives', async () => {
    await cli(['upstream', 'add', 'jailed', '--sandbox', '--allow-path', `${ROOT}:ro`, '--', process.execPath, HOSTILE])
    await cli(['upstream', 'add', 'free', '--', process.execPath, HOSTILE])
    const spawnBoth = async (s: RunningServe) => {
      const c = await connect(s)
      const pids = await Promise.all(['jailed', 'free'].map(async (u) => hostPid(JSON.parse(await call(c, `${u}__spawn_detached`)))))
      await c.close().catch(() => {})
      return pids
    }
    // bubblewrap's PID namespace (the default), then util-linux unshare's (where bubblewrap cannot be used).
    for (const containment of [undefined, 'unshare']) {
      const s = await serve([], {KEYWARD_UPSTREAM_CONTAINMENT: containment})
      const grandchildren = await spawnBoth(s)
      assert.ok(grandchildren.every((pid) => alive(pid)), `detached grandchildren run: ${grandchildren}`)
      s.child.kill('SIGKILL')
      assert.ok(await until(() => grandchildren.every((pid) => !alive(pid)), 5000), `every detached grandchild died with keyward (${containment ?? 'default'})`)
      if (containment) assert.match(s.logs(), /upstream free is ready \([^;)]*; pid \d+, unshare\)/)
      running.splice(0)
    }

    // The control: the process group alone, as before PID namespaces, lets the unsandboxed one's grandchild live.
    const loose = await serve([], {KEYWARD_UPSTREAM_CONTAINMENT: 'process-group'})
    const [jailed, free] = await spawnBoth(loose)
    strays.push(free!)
    loose.child.kill('SIGKILL')
    running.splice(0)
    assert.ok(await until(() => !alive(jailed), 5000), 'the sandbox still takes its grandchild along')
    await sleep(3000)
    assert.ok(alive(free), 'with the process group alone, a detached grandchild survives: the test can fail')
  })

  it('the fd-3 lifeline ends an upstream that ignores EOF and SIGTERM when keyward is killed', async () => {
    await cli(['upstream', 'add', 'stubborn', '--env', 'FIXTURE_IGNORE_EOF=1', '--', process.execPath, FIXTURE])
    const s = await serve()
    const c = await connect(s)
    const pid = hostPid(JSON.parse(await call(c, 'stubborn__get_process')))
    assert.ok(alive(pid))
    s.child.kill('SIGKILL')
    running.splice(0)
    assert.ok(await until(() => !alive(pid), 6000), 'the upstream died with keyward')
  })

  it('keyward’s files named by flag (--key-file, --audit-log) stay hidden inside a path a sandbox allows; an unsandboxed upstream reads them', async () => {
    const keyFile = path.join(allowed, 'vault.key')
    await fs.copyFile(box.env.KEYWARD_KEY_FILE!, keyFile)
    await fs.chmod(keyFile, 0o600)
    // In a directory of its own: the log's directory is hidden (its rotated files are beside it), not the rest of the allowed path.
    const auditLog = path.join(allowed, 'audit', 'serve.jsonl')
    await fs.mkdir(path.dirname(auditLog), {mode: 0o700})
    await cli(['upstream', 'add', 'nosy', '--sandbox', '--allow-path', `${ROOT}:ro`, '--allow-path', `${allowed}:ro`, '--', process.execPath, HOSTILE])
    await cli(['upstream', 'add', 'free', '--', process.execPath, HOSTILE])
    const s = await serve(['--key-file', keyFile, '--audit-log', auditLog], {KEYWARD_KEY_FILE: undefined})
    const c = await connect(s)
    assert.equal((await read(c, 'nosy', path.join(allowed, 'other.txt'))).ok, true, 'the rest of the allowed path is shown')
    assert.ok(await until(async () => (await fs.stat(auditLog).catch(() => undefined)) !== undefined), 'serve wrote its audit log')
    for (const file of [keyFile, auditLog]) {
      assert.equal((await read(c, 'nosy', file)).ok, false, `the sandboxed upstream read ${file}`)
      assert.equal((await read(c, 'free', file)).ok, true, `the unsandboxed upstream reads ${file}: the test can fail`)
    }
  })

  it('an upstream, sandboxed or not, gets no descriptor keyward was started with beyond its stdio (one open on a file in the HOME, say)', async () => {
    await cli(['upstream', 'add', 'jailed', '--sandbox', '--allow-path', `${ROOT}:ro`, '--', process.execPath, HOSTILE])
    await cli(['upstream', 'add', 'free', '--', process.execPath, HOSTILE])
    // A high number: the upstream's own runtime takes the low ones for itself.
    const fd = openSync(box.path('planted.txt'), 'r')
    try {
      const s = await startServe(box, ['--stateless'], {}, {40: fd})
      running.push(s)
      const c = await connect(s)
      for (const upstream of ['jailed', 'free']) {
        const through = await read(c, upstream, '/proc/self/fd/40')
        assert.equal(through.ok, false, `${upstream} read ${JSON.stringify(through.text)} through the inherited descriptor`)
      }
      assert.equal((await read(c, 'free', box.path('planted.txt'))).ok, true, 'the file is there to read: the test can fail')
    } finally {
      closeSync(fd)
    }
  })

  it('an answer nested deeper than any real one is refused with an error that says so, at once: it neither hangs the call nor passes unredacted', async () => {
    await cli(['upstream', 'add', 'deep', '--env', 'FIXTURE_NESTED=1', '--', process.execPath, HOSTILE])
    const s = await serve()
    const c = await connect(s)
    // Past what JSON.stringify can write back: before, the call got no answer at all.
    for (const depth of [10_000, 100]) {
      await assert.rejects(c.callTool({name: 'deep__nested', arguments: {depth}}, undefined, {timeout: 10_000}), (err: Error) => /nested deeper than 64 levels/.test(err.message), `depth ${depth}`)
    }
    assert.equal(JSON.parse(await call(c, 'deep__get_process')).home.endsWith('/home'), true, 'the upstream still serves')
  })

  it('an HTTP upstream’s answer over 32 MiB is refused once it passes the limit, its transfer stopped; the upstream still serves', async () => {
    const upstream = await hugeAnswerUpstream(80 * 1024 * 1024)
    try {
      await cli(['upstream', 'add', 'far', '--url', upstream.url])
      const s = await serve()
      const c = await connect(s)
      const outcome = await c.callTool({name: 'far__huge', arguments: {}}, undefined, {timeout: 30_000}).then(
        (result) => JSON.stringify(result),
        (err: Error) => err.message,
      )
      assert.match(outcome, /over 32 MiB/, 'the call fails, saying why')
      assert.ok(upstream.written() < 64 * 1024 * 1024, `the upstream got to send ${upstream.written()} bytes`)
      assert.equal(await call(c, 'far__small'), 'small', 'the upstream still serves')
    } finally {
      await upstream.close()
    }
  })

  it('an HTTP upstream that pages large tool listings for ever is listed up to 32 MiB in all: the pages past it are not asked for, the operator is told once, and what fits is served', async () => {
    const upstream = await endlessListingUpstream(1024 * 1024)
    try {
      await cli(['upstream', 'add', 'far', '--url', upstream.url])
      // What `upstream add` asked for (its check lists a page) is not serve's.
      const probed = upstream.pages()
      const s = await serve()
      const c = await connect(s)
      // The first list waits 3 s for an upstream still starting; a longer listing comes after it.
      let tools: {name: string}[] = []
      const listTools = async () => (await c.listTools(undefined, {timeout: 60_000})).tools.filter((t) => t.name.startsWith('far__'))
      await until(async () => (tools = await listTools()).length > 0, 60_000)
      assert.ok(upstream.pages() - probed <= 32, `serve asked for ${upstream.pages() - probed} pages of 1 MiB`)
      assert.deepEqual(
        tools.map((t) => t.name),
        Array.from({length: 31}, (_, i) => `far__t${i}`),
        'the tools that fit are served, in order',
      )
      const told = s.logs().match(/upstream far's tools ran past 32 MiB in all, which keyward does not read: the first 31 are listed, and the rest are not/g) ?? []
      assert.equal(told.length, 1, s.logs())
      assert.equal(await call(c, 'far__t0'), 'ok', 'the upstream still serves')
    } finally {
      await upstream.close()
    }
  })

  it('an upstream that reports progress for ever holds a call no longer than upstream.max-call-duration: the client gets an error naming the upstream and the bound, and the upstream is told to stop', async () => {
    await cli(['upstream', 'add', 'slow', '--env', 'FIXTURE_PROGRESS=1', '--', process.execPath, HOSTILE])
    const s = await serve(['--upstream-max-call-duration', '1500ms'])
    const c = await connect(s)
    const progress: number[] = []
    const started = Date.now()
    // The client's own bound (no reset on progress) is far past keyward's: only keyward can end the call in time.
    const outcome = await c.callTool({name: 'slow__busy', arguments: {}}, undefined, {timeout: 20_000, onprogress: (p) => void progress.push(p.progress)}).then(
      (result) => textOf(result),
      (err: Error) => `rejected: ${err.message}`,
    )
    const took = Date.now() - started
    assert.ok(progress.length >= 3, `the upstream's progress was passed on (${progress.length} reports): it kept the call alive`)
    assert.match(outcome, /^upstream slow ran the call past 1500ms, the longest upstream\.max-call-duration allows; it was cancelled/)
    assert.ok(took >= 1500 && took < 8000, `the call ended after ${took} ms`)
    assert.ok(await until(async () => (await call(c, 'slow__busy_cancelled')) === '1'), 'the upstream was told to stop (notifications/cancelled)')
  })

  it('an upstream has its own empty HOME: `keyward run --upstream` cannot open the vault from the default paths', async () => {
    // A user with every default path under HOME, as a fresh install has it: no XDG variables.
    const fresh = new Sandbox()
    try {
      const env = {HOME: fresh.dir, PATH: process.env.PATH ?? '', NO_COLOR: '1'}
      const run = async (args: string[], input?: string) => collect(fresh.spawn(args, {env: {...env, XDG_DATA_HOME: undefined, XDG_CONFIG_HOME: undefined}}), input)
      assert.equal((await run(['init', '--key-file-out', path.join(fresh.dir, '.config', 'keyward', 'vault.key')])).code, 0)
      assert.equal((await run(['secrets', 'set', 'OTHER'], 'other-upstream-secret-value')).code, 0)
      assert.equal((await run(['upstream', 'add', 'x', '--skip-check', '--', 'sh'])).code, 0)
      assert.equal((await run(['secrets', 'get', 'OTHER'])).stdout, 'other-upstream-secret-value', 'the operator gets it from the default paths')
      const inside = await run(['run', '--upstream', 'x', '--', 'sh', '-c', `echo "HOME=$HOME"; "${process.execPath}" "${BIN}" secrets get OTHER`])
      assert.ok(!inside.stdout.includes('other-upstream-secret-value'), 'the upstream cannot read another secret')
      assert.match(inside.stdout, /HOME=.*upstreams\/[^/]+\/x\/home/)
      assert.match(inside.stderr, /no vault/)
      const passed = await run(['upstream', 'add', 'y', '--skip-check', '--env', `HOME=${fresh.dir}`, '--', 'sh'])
      assert.equal(passed.code, 0)
      assert.equal((await run(['run', '--upstream', 'y', '--', 'sh', '-c', 'echo "$HOME"'])).stdout.trim(), fresh.dir, '--env HOME=… passes one through')
    } finally {
      await fresh.cleanup()
    }
  })

  it('where no sandbox can start: one line saying how to fix it, and a sandboxed upstream never starts unsandboxed', async () => {
    const fake = box.path('fake-bwrap')
    await fs.writeFile(fake, "#!/bin/sh\necho 'bwrap: No permissions to create a new namespace, likely because the kernel does not allow non-privileged user namespaces.' >&2\nexit 1\n", {mode: 0o755})
    let r = await box.run(['upstream', 'add', 'jailed', '--sandbox', '--', process.execPath, HOSTILE], {env: {KEYWARD_BWRAP: box.path('no-such-bwrap')}})
    assert.equal(r.code, 40)
    assert.match(r.stderr, /^keyward: the sandbox needs bubblewrap, and .* was not found: install it \(apt-get install bubblewrap/)
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line')
    r = await box.run(['upstream', 'add', 'jailed', '--sandbox', '--json', '--', process.execPath, HOSTILE], {env: {KEYWARD_BWRAP: fake}})
    assert.equal(r.code, 40)
    assert.match(json(r).error.message, /cannot create the sandbox's namespaces here .*allow unprivileged user namespaces/)
    assert.equal(json(await cli(['upstream', 'list', '--json'])).upstreams.length, 0, 'nothing was added')
    await cli(['upstream', 'add', 'jailed', '--sandbox', '--skip-check', '--allow-path', `${ROOT}:ro`, '--', process.execPath, HOSTILE])
    r = await box.run(['upstream', 'test', 'jailed'], {env: {KEYWARD_BWRAP: fake}})
    assert.equal(r.code, 40)
    const s = await serve([], {KEYWARD_BWRAP: fake})
    assert.ok(await until(() => /upstream jailed is down: it did not start: bubblewrap cannot create/.test(s.logs()), 10_000), s.logs())
    assert.doesNotMatch(s.logs(), /upstream jailed is ready/, 'it never starts unsandboxed')
    r = await box.run(['upstream', 'add', 'web', '--sandbox', '--url', 'https://mcp.example/mcp'])
    assert.equal(r.code, 2, 'an HTTP upstream has nothing to sandbox')
  })

  it('upstream test says what the sandbox shows and hides; upstream set changes it', async () => {
    await cli(['upstream', 'add', 'jailed', '--sandbox', '--allow-path', `${ROOT}:ro`, '--', process.execPath, HOSTILE])
    let r = await cli(['upstream', 'test', 'jailed'])
    assert.match(r.stdout, /sandboxed \(bubblewrap\)/)
    assert.match(r.stdout, new RegExp(`read-only: .*/usr .*${ROOT.replace(/[/.]/g, '\\$&')}`))
    assert.match(r.stdout, /read-write: \/home\/upstream \(kept in .*jailed\/home\)/)
    assert.match(r.stdout, /network: +on/)
    const tested = json(await cli(['upstream', 'test', 'jailed', '--json']))
    assert.equal(tested.containment.sandbox, true)
    assert.ok(tested.containment.hidden.includes('/etc/shadow'), tested.containment.hidden.join(' '))
    await cli(['upstream', 'set', 'jailed', '--network', 'off', '--allow-path', `${allowed}:rw`])
    const shown = json(await cli(['upstream', 'show', 'jailed', '--json'])).upstream
    assert.deepEqual(shown.sandbox, {enabled: true, allowPaths: [`${ROOT}:ro`, `${allowed}:rw`], network: false})
    r = await cli(['upstream', 'test', 'jailed'])
    assert.match(r.stdout, /network: +off/)
    await cli(['upstream', 'set', 'jailed', '--sandbox', 'off'])
    r = await cli(['upstream', 'test', 'jailed'])
    assert.match(r.stdout, /not sandboxed: .*private HOME .*its own PID namespace \(bubblewrap\)/)
    r = await box.run(['upstream', 'set', 'jailed', '--allow-path', '/'])
    assert.equal(r.code, 2)
    // upstream.sandbox: the default of `upstream add`; --no-sandbox beats it.
    assert.equal((await box.run(['config', 'set', 'upstream.sandbox', 'maybe'])).code, 2)
    await cli(['config', 'set', 'upstream.sandbox', 'on'])
    await cli(['upstream', 'add', 'by-default', '--skip-check', '--', process.execPath, HOSTILE])
    await cli(['upstream', 'add', 'opted-out', '--skip-check', '--no-sandbox', '--', process.execPath, HOSTILE])
    const views = json(await cli(['upstream', 'list', '--json'])).upstreams
    assert.equal(views.find((u: {name: string}) => u.name === 'by-default').sandbox.enabled, true)
    assert.equal(views.find((u: {name: string}) => u.name === 'opted-out').sandbox.enabled, false)
  })
})

/**
 * A 2025-era MCP server over plain HTTP (JSON answers) whose tools/list never ends: page n holds
 * one tool, `tn`, padded to `size` bytes (in its `_meta`, which nothing reads), and the cursor of
 * page n + 1. Its tools answer `ok`. `pages()`: how many pages it was asked for.
 */
async function endlessListingUpstream(size: number): Promise<FillerServer & {pages(): number}> {
  let pages = 0
  const server = await fillerServer(
    '/mcp',
    async (req, res, fill) => {
      if (req.method !== 'POST') return void res.writeHead(req.method === 'DELETE' ? 200 : 405).end()
      let body = ''
      for await (const part of req) body += part
      const message = JSON.parse(body) as {id?: number; method: string; params?: {cursor?: string; protocolVersion?: string}}
      if (message.id === undefined) return void res.writeHead(202).end()
      const answer = (result: unknown) => res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({jsonrpc: '2.0', id: message.id, result}))
      if (message.method === 'initialize') return answer({protocolVersion: message.params?.protocolVersion ?? '2025-11-25', capabilities: {tools: {}}, serverInfo: {name: 'endless', version: '1'}})
      if (message.method === 'tools/call') return answer({content: [{type: 'text', text: 'ok'}]})
      if (message.method !== 'tools/list') return void res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({jsonrpc: '2.0', id: message.id, error: {code: -32601, message: 'Method not found'}}))
      pages++
      const n = Number(message.params?.cursor ?? 0)
      res.writeHead(200, {'content-type': 'application/json'})
      res.write(`{"jsonrpc":"2.0","id":${message.id},"result":{"nextCursor":"${n + 1}","tools":[{"name":"t${n}","inputSchema":{"type":"object"},"_meta":{"pad":"`)
      fill(res, size, '"}}]}}')
    },
    0x78,
  )
  return {...server, pages: () => pages}
}

/**
 * A 2025-era MCP server over plain HTTP (JSON answers) with two tools: `small`, and `huge`, whose
 * answer is a text of `size` bytes, streamed. Resolves with its URL and how much of the huge answer
 * it got to write.
 */
function hugeAnswerUpstream(size: number): Promise<FillerServer> {
  return fillerServer(
    '/mcp',
    async (req, res, fill) => {
      if (req.method !== 'POST') return void res.writeHead(req.method === 'DELETE' ? 200 : 405).end()
      let body = ''
      for await (const part of req) body += part
      const message = JSON.parse(body) as {id?: number; method: string; params?: {name?: string; protocolVersion?: string}}
      if (message.id === undefined) return void res.writeHead(202).end()
      const answer = (result: unknown) => res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({jsonrpc: '2.0', id: message.id, result}))
      if (message.method === 'initialize') return answer({protocolVersion: message.params?.protocolVersion ?? '2025-11-25', capabilities: {tools: {}}, serverInfo: {name: 'huge', version: '1'}})
      if (message.method === 'tools/list') return answer({tools: ['huge', 'small'].map((name) => ({name, inputSchema: {type: 'object'}}))})
      if (message.method === 'tools/call' && message.params?.name === 'small') return answer({content: [{type: 'text', text: 'small'}]})
      if (message.method !== 'tools/call') return void res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({jsonrpc: '2.0', id: message.id, error: {code: -32601, message: 'Method not found'}}))
      res.writeHead(200, {'content-type': 'application/json'})
      res.write(`{"jsonrpc":"2.0","id":${message.id},"result":{"content":[{"type":"text","text":"`)
      fill(res, size, '"}]}}')
    },
    0x78,
  )
}
