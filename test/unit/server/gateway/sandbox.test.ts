/** The bubblewrap argv of a sandboxed upstream, built against a host described in a table. */
import assert from 'node:assert/strict'
import os from 'node:os'

import {checkSandboxSupport, operatorHomes, sandboxArgs, unshareArgs, within, type HostView} from '../../../../src/server/gateway/sandbox.js'
import {givenPaths, keywardPaths, parseAllowPath} from '../../../../src/upstreams/isolation.js'
import {KeyMaterial} from '../../../../src/vault/index.js'

type Entry = ReturnType<HostView['entry']>

function host(entries: Record<string, Entry>, uid = 1000, real: Record<string, string> = {}): HostView {
  return {entry: (p) => entries[p], realpath: (p) => real[p] ?? p, uid}
}

const dir: Entry = {type: 'dir'}
const file: Entry = {type: 'file'}
const debian = {
  '/usr': dir,
  '/bin': {type: 'symlink', target: 'usr/bin'},
  '/lib': {type: 'symlink', target: 'usr/lib'},
  '/etc': dir,
  '/etc/shadow': file,
  '/etc/ssh': dir,
  '/usr/bin/node': file,
  '/srv/docs': dir,
  '/home/ada/.local/state/keyward': dir,
  '/home/ada/.config/keyward/vault.key': file,
  '/run/systemd/resolve': dir,
} satisfies Record<string, Entry>

const request = (more: Partial<Parameters<typeof sandboxArgs>[0]> = {}) => ({
  command: 'node',
  args: ['server.js'],
  env: {PATH: '/usr/bin'},
  home: '/home/ada/.local/state/keyward/upstreams/v1/files/home',
  hidden: ['/home/ada/.local/state/keyward', '/home/ada/.config/keyward/vault.key'],
  ...more,
})

/** The argv as [flag, operands...] groups, for readable assertions. */
function pairs(args: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]
    const n = ['--ro-bind', '--bind', '--symlink'].includes(flag) ? 2 : ['--tmpfs', '--dev', '--proc', '--chdir', '--cap-drop'].includes(flag) ? 1 : 0
    out.push([flag, ...args.slice(i + 1, i + 1 + n)].join(' '))
    i += n
  }
  return out
}

describe('server/gateway/sandbox', () => {
  it('shows the system read-only, replicates its symlinks, masks what root could read in /etc, and gives a private /tmp and HOME', () => {
    const {args, command, view} = sandboxArgs(request(), {allow: [], network: true}, host(debian), '/home/ada')
    const p = pairs(args)
    for (const expected of ['--ro-bind /usr /usr', '--symlink usr/bin /bin', '--ro-bind /etc /etc', '--ro-bind /dev/null /etc/shadow', '--tmpfs /etc/ssh', '--tmpfs /tmp', '--proc /proc', '--dev /dev', '--new-session', '--unshare-pid', '--die-with-parent']) {
      assert.ok(p.includes(expected), `${expected} in ${p.join(' | ')}`)
    }
    assert.ok(!p.includes('--unshare-net'), 'network on')
    assert.ok(p.includes('--ro-bind /run/systemd/resolve /run/systemd/resolve'), 'DNS through a systemd resolver')
    assert.ok(!p.some((x) => x.startsWith('--cap-drop')), 'not root: no capabilities to drop')
    assert.equal(p.at(-2), '--bind /home/ada/.local/state/keyward/upstreams/v1/files/home /home/upstream', 'the private HOME, at a path that tells nothing of the host')
    assert.equal(p.at(-1), '--chdir /home/upstream')
    assert.equal(command, '/usr/bin/node', 'resolved on its PATH')
    assert.ok(!args.some((a) => a === '/home/ada'), "nothing of the operator's HOME")
    assert.deepEqual(view.hidden, ['/etc/shadow', '/etc/ssh'])
  })

  it('binds allowed paths with their mode, and masks keyward’s files inside them, before the HOME goes on top', () => {
    const {args, view} = sandboxArgs(request(), {allow: [{path: '/srv/docs', mode: 'rw'}, {path: '/home/ada/.local', mode: 'ro'}], network: false}, host({...debian, '/home/ada/.local': dir}, 0), '/home/ada')
    const p = pairs(args)
    assert.ok(p.includes('--bind /srv/docs /srv/docs'))
    assert.ok(p.includes('--ro-bind /home/ada/.local /home/ada/.local'))
    const mask = p.indexOf('--tmpfs /home/ada/.local/state/keyward')
    assert.ok(mask > p.indexOf('--ro-bind /home/ada/.local /home/ada/.local'), 'the mask comes after the bind it covers')
    assert.ok(mask < p.findIndex((x) => x.endsWith(' /home/upstream')), 'the private HOME is bound after the mask')
    assert.ok(!p.includes('--ro-bind /dev/null /home/ada/.config/keyward/vault.key'), 'a hidden file no allowed path covers needs no mask')
    assert.ok(p.includes('--unshare-net'))
    assert.ok(p.includes('--cap-drop ALL'), 'root: every capability dropped')
    assert.deepEqual(view.readWrite, ['/srv/docs', '/home/upstream'])
    assert.equal(view.network, false)
  })

  it('masks keyward’s files where the system shows them (a vault in /etc/keyward, a key file in /opt), not only inside allowed paths', () => {
    const system = {...debian, '/opt': dir, '/etc/keyward': dir, '/opt/keyward/vault.key': file}
    const {args, view} = sandboxArgs(request({hidden: ['/etc/keyward', '/opt/keyward/vault.key', '/home/ada/.local/state/keyward']}), {allow: [], network: false}, host(system), '/home/ada')
    const p = pairs(args)
    assert.ok(p.includes('--tmpfs /etc/keyward'), p.join(' | '))
    assert.ok(p.includes('--ro-bind /dev/null /opt/keyward/vault.key'), p.join(' | '))
    assert.ok(p.indexOf('--tmpfs /etc/keyward') > p.indexOf('--ro-bind /etc /etc'), 'the mask comes after the bind it covers')
    assert.ok(view.hidden.includes('/etc/keyward') && view.hidden.includes('/opt/keyward/vault.key'))
  })

  it('masks keyward’s files where a symlink shows them: a key file under a symlinked ~/.config, an allowed path that is a symlink', () => {
    const linked = {...debian, '/data': dir, '/data/dotfiles/keyward/vault.key': file, '/srv/state': {type: 'symlink', target: '/home/ada/.local/state/keyward'} as Entry}
    const real = {'/home/ada/.config/keyward/vault.key': '/data/dotfiles/keyward/vault.key', '/srv/state': '/home/ada/.local/state/keyward'}
    const {args} = sandboxArgs(request(), {allow: [{path: '/data', mode: 'ro'}, {path: '/srv/state', mode: 'ro'}], network: false}, host(linked, 1000, real), '/home/ada')
    const p = pairs(args)
    assert.ok(p.includes('--ro-bind /dev/null /data/dotfiles/keyward/vault.key'), p.join(' | '))
    assert.ok(p.includes('--tmpfs /srv/state'), p.join(' | '))
  })

  it("keyward's own files, as the sandbox hides them: the defaults, the environment's, and those a flag or setting named", () => {
    const env = {XDG_DATA_HOME: '/home/ada/.local/share', XDG_CONFIG_HOME: '/home/ada/.config', XDG_STATE_HOME: '/home/ada/.local/state', KEYWARD_KEY_FILE: '/srv/k/vault.key', KEYWARD_API_KEY_FILE: '/srv/k/client.key', KEYWARD_AUDIT_LOG: '/var/log/keyward/audit.jsonl'}
    const paths = keywardPaths('/srv/v/vault.json', env)
    for (const p of ['/srv/v', '/home/ada/.local/share/keyward', '/home/ada/.config/keyward', '/home/ada/.local/state/keyward', '/srv/k/vault.key', '/srv/k/client.key', '/var/log/keyward']) assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`)
    const material = new KeyMaterial({kind: 'keyfile', key: Buffer.alloc(32), origin: '/opt/keys/vault.key'})
    assert.deepEqual(givenPaths(material, '/data/audit/serve.jsonl'), ['/opt/keys/vault.key', '/data/audit'])
  })

  it('refuses an allowed path that does not exist', () => {
    assert.throws(() => sandboxArgs(request(), {allow: [{path: '/nope', mode: 'ro'}], network: true}, host(debian), '/home/ada'), /--allow-path \/nope does not exist/)
  })

  it("shows an install prefix outside the system read-only, never the operator's HOME itself", () => {
    const nvm = '/home/ada/.nvm/versions/node/v20/bin/node'
    let {args} = sandboxArgs(request({command: nvm}), {allow: [], network: true}, host({...debian, [nvm]: file}), '/home/ada')
    assert.ok(pairs(args).includes('--ro-bind /home/ada/.nvm/versions/node/v20 /home/ada/.nvm/versions/node/v20'))
    const own = '/home/ada/bin/server'
    ;({args} = sandboxArgs(request({command: own}), {allow: [], network: true}, host({...debian, [own]: file}), '/home/ada'))
    assert.ok(pairs(args).includes('--ro-bind /home/ada/bin /home/ada/bin'))
    assert.ok(!pairs(args).includes('--ro-bind /home/ada /home/ada'))
  })

  it("never shows a HOME root that holds other programs' data (~/.local, ~/.cargo, ~/go) for a command installed in it: the file alone, and the real prefix of a link into a tool's own environment (review)", () => {
    const binds = (command: string, entries: Record<string, Entry>, real: Record<string, string> = {}) =>
      pairs(sandboxArgs(request({command}), {allow: [], network: true}, host({...debian, ...entries}, 1000, real), '/home/ada').args).filter((x) => x.startsWith('--ro-bind /home/ada'))
    for (const root of ['.local', '.cargo', 'go', '.config']) {
      const cmd = `/home/ada/${root}/bin/server`
      assert.deepEqual(binds(cmd, {[cmd]: file}), [`--ro-bind ${cmd} ${cmd}`], root)
    }
    // pipx: ~/.local/bin/tool links into ~/.local/share/pipx/venvs/tool/bin/tool, whose venv it needs.
    const link = '/home/ada/.local/bin/tool'
    const venvBin = '/home/ada/.local/share/pipx/venvs/tool/bin/tool'
    assert.deepEqual(binds(link, {[link]: file, [venvBin]: file}, {[link]: venvBin}), [`--ro-bind ${link} ${link}`, '--ro-bind /home/ada/.local/share/pipx/venvs/tool /home/ada/.local/share/pipx/venvs/tool'])
    // uv tool with a uv-managed Python: the venv's python links to it, under ~/.local/share/uv/python.
    const uvTool = '/home/ada/.local/share/uv/tools/tool'
    const cpython = '/home/ada/.local/share/uv/python/cpython-3.12.7-linux-x86_64-gnu'
    const uv = {[link]: file, [`${uvTool}/bin/tool`]: file, [`${uvTool}/bin/python`]: {type: 'symlink', target: `${cpython}/bin/python3.12`} as Entry}
    assert.deepEqual(binds(link, uv, {[link]: `${uvTool}/bin/tool`, [`${uvTool}/bin/python`]: `${cpython}/bin/python3.12`}), [`--ro-bind ${link} ${link}`, `--ro-bind ${uvTool} ${uvTool}`, `--ro-bind ${cpython} ${cpython}`])
  })

  it('a HOME, or a ~/.local, that is a link shows no more than one that is not: real paths are held to the same rules (review)', () => {
    const binds = (command: string, real: Record<string, string>) =>
      pairs(sandboxArgs(request({command}), {allow: [], network: true}, host({...debian, [command]: file}, 1000, real), '/home/ada').args).filter((x) => /--ro-bind \/(home|data)/.test(x))
    const cmd = '/home/ada/.local/bin/server'
    // HOME is /data/ada.
    assert.deepEqual(binds(cmd, {'/home/ada': '/data/ada', [cmd]: '/data/ada/.local/bin/server'}), [`--ro-bind ${cmd} ${cmd}`, '--ro-bind /data/ada/.local/bin/server /data/ada/.local/bin/server'])
    // ~/.local is /data/dot/local.
    assert.deepEqual(binds(cmd, {'/home/ada/.local': '/data/dot/local', [cmd]: '/data/dot/local/bin/server'}), [`--ro-bind ${cmd} ${cmd}`, '--ro-bind /data/dot/local/bin/server /data/dot/local/bin/server'])
    // ~/bin under a linked HOME: its directory, never the HOME.
    const own = '/home/ada/bin/server'
    assert.deepEqual(binds(own, {'/home/ada': '/data/ada', [own]: '/data/ada/bin/server'}), ['--ro-bind /home/ada/bin /home/ada/bin', '--ro-bind /data/ada/bin /data/ada/bin'])
    // HOME is the real path, and the command is named through a link to it (/home/ada -> /var/home/ada, as on Fedora Silverblue).
    const silverblue = pairs(sandboxArgs(request({command: '/var/home/ada/bin/server'}), {allow: [], network: true}, host({...debian, '/var/home/ada/bin/server': file}), '/var/home/ada').args)
    assert.ok(!silverblue.includes('--ro-bind /var/home/ada /var/home/ada'))
    const aliased = pairs(sandboxArgs(request({command: own}), {allow: [], network: true}, host({...debian, [own]: file}, 1000, {'/home/ada': '/var/home/ada', [own]: '/var/home/ada/bin/server'}), '/var/home/ada').args)
    assert.ok(!aliased.some((x) => x === '--ro-bind /home/ada /home/ada' || x === '--ro-bind /var/home/ada /var/home/ada'), aliased.join(' | '))
    const local = '/home/ada/.local/bin/server'
    const aliasedLocal = pairs(sandboxArgs(request({command: local}), {allow: [], network: true}, host({...debian, [local]: file}, 1000, {'/home/ada': '/var/home/ada', '/home/ada/.local': '/var/home/ada/.local', [local]: '/var/home/ada/.local/bin/server'}), '/var/home/ada').args)
    assert.ok(!aliasedLocal.some((x) => /--ro-bind \/(var\/)?home\/ada\/\.local /.test(x)), aliasedLocal.join(' | '))
  })

  it("the user's own home is kept out as HOME is, when HOME is another directory (sudo without -H, HOME set for keyward alone) (review)", () => {
    const own = '/home/ada/bin/mcp-tool'
    const p = pairs(sandboxArgs(request({command: own}), {allow: [], network: true}, host({...debian, [own]: file}), ['/srv/keyward', '/home/ada']).args)
    assert.ok(p.includes('--ro-bind /home/ada/bin /home/ada/bin'))
    assert.ok(!p.includes('--ro-bind /home/ada /home/ada'), p.join(' | '))
    const saved = process.env.HOME
    try {
      process.env.HOME = '/'
      assert.ok(!operatorHomes().includes('/'), 'HOME / keeps nothing out: it counts as none')
      process.env.HOME = '/srv/keyward'
      assert.deepEqual(operatorHomes(), ['/srv/keyward', os.userInfo().homedir].filter((h) => h !== '/'))
    } finally {
      process.env.HOME = saved
    }
  })

  it("a global npm install's link gets the package it points into, with its own dependencies (npm's prefix in ~/.local, say)", () => {
    const link = '/home/ada/.local/bin/cli'
    const real = '/home/ada/.local/lib/node_modules/@acme/cli/dist/cli.js'
    const p = pairs(sandboxArgs(request({command: link}), {allow: [], network: true}, host({...debian, [link]: file, [real]: file}, 1000, {[link]: real}), '/home/ada').args)
    assert.ok(p.includes('--ro-bind /home/ada/.local/lib/node_modules/@acme/cli /home/ada/.local/lib/node_modules/@acme/cli'), p.join(' | '))
    assert.ok(!p.some((x) => /--ro-bind \/home\/ada\/\.local(\/lib)? /.test(x)))
  })

  it('parses --allow-path: read-only unless :rw, absolute, never /', () => {
    assert.deepEqual(parseAllowPath('/srv/docs'), {path: '/srv/docs', mode: 'ro'})
    assert.deepEqual(parseAllowPath('/srv/docs/:rw'), {path: '/srv/docs', mode: 'rw'})
    assert.deepEqual(parseAllowPath('data:ro', '/work'), {path: '/work/data', mode: 'ro'})
    assert.throws(() => parseAllowPath('/'), /the whole system/)
    assert.throws(() => parseAllowPath(':rw'), /give a path/)
  })

  it('refuses --sandbox on macOS and Windows, saying it is Linux only', async () => {
    const platform = Object.getOwnPropertyDescriptor(process, 'platform')!
    try {
      for (const [name, shown] of [['darwin', 'macOS'], ['win32', 'Windows']]) {
        Object.defineProperty(process, 'platform', {value: name})
        await assert.rejects(checkSandboxSupport(), (err: Error & {code?: string}) => err.code === 'SANDBOX_UNAVAILABLE' && err.message.startsWith('--sandbox is Linux only') && err.message.includes(`on ${shown}`))
      }
    } finally {
      Object.defineProperty(process, 'platform', platform)
    }
  })

  it('unshare maps the user only when not root; within() is path-aware', () => {
    assert.deepEqual(unshareArgs(0), ['--pid', '--fork', '--kill-child', '--mount-proc'])
    assert.deepEqual(unshareArgs(1000).slice(0, 2), ['--user', '--map-current-user'])
    assert.ok(within('/a/b', '/a') && within('/a', '/a') && !within('/ab', '/a'))
  })
})
