/**
 * How a stdio upstream is started: the argv that goes in front of its command, so that no
 * process it starts outlives keyward, and, when it is sandboxed, so that it sees only what it
 * must (docs/gateway.md, "Threat model").
 *
 * - Sandboxed (Linux, bubblewrap): a read-only system, a private HOME (its own directory) and
 *   /tmp, no view of the vault, the key files, keyward's state and config, other upstreams or
 *   the operator's HOME; its own PID, IPC and UTS namespaces and session, no capabilities, no
 *   network with `--network off`; only the paths the operator allowed.
 * - Not sandboxed: the same system view as keyward, in a PID namespace of its own when one can
 *   be had (bubblewrap binding / through, else util-linux `unshare`), so that killing its first
 *   process takes every descendant along, detached or not. Where neither works, the child
 *   wrapper's process group is the fallback, and a descendant that leaves the group survives.
 *
 * The fd-3 lifeline of child-wrapper.ts stays in front of all of this: it ends the tree when
 * keyward goes, even by SIGKILL. Building the argv is pure (`sandboxArgs`); the probes run the
 * real tools once per process and are cached.
 */
import {execFile} from 'node:child_process'
import {lstatSync, readlinkSync, realpathSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {KeywardError} from '../../errors/index.js'
import type {PathMode, SandboxPolicy} from '../../upstreams/isolation.js'


/** How an upstream's process tree is held: the strongest first. */
export type Containment = 'sandbox' | 'pid-namespace' | 'unshare' | 'process-group'

export interface LaunchRequest {
  command: string
  args: readonly string[]
  env: Readonly<Record<string, string>>
  /** The upstream's private HOME; absent when the operator passed HOME through (`--env HOME=…`). */
  home?: string
  sandbox?: SandboxPolicy
  /** keyward's own files and directories (vault, key file, state, config): hidden even inside an allowed path. */
  hidden: readonly string[]
}

/**
 * Where a sandboxed upstream's private HOME appears inside: a neutral path, so that the
 * directories above the real one (the operator's HOME, the vault id) are not shown even empty.
 */
export const SANDBOX_HOME = '/home/upstream'

/** What a sandboxed upstream sees, for `upstream test` and the docs. */
export interface SandboxView {
  readOnly: string[]
  readWrite: string[]
  hidden: string[]
  /** The private HOME on the host; inside it is SANDBOX_HOME. */
  home?: string
  tmp: 'private'
  network: boolean
}

export interface LaunchPlan {
  /** The program and arguments the child wrapper runs: bwrap or unshare in front of the command, or the command alone. */
  argv: string[]
  env: Record<string, string>
  containment: Containment
  view?: SandboxView
}

export class SandboxUnavailable extends KeywardError {
  constructor(message: string) {
    super('SANDBOX_UNAVAILABLE', message)
  }
}

/** The system, shown read-only: what programs need to run. Each is bound only if it exists. */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt', '/nix/store']
/** Inside /etc, what a process running as root could otherwise read: password hashes, host keys, TLS private keys. */
const ETC_MASKED = ['/etc/shadow', '/etc/shadow-', '/etc/gshadow', '/etc/gshadow-', '/etc/sudoers', '/etc/sudoers.d', '/etc/ssh', '/etc/ssl/private']
/** With the network on: where a systemd resolver keeps the file /etc/resolv.conf points to. */
const RESOLVER_DIRS = ['/run/systemd/resolve']
/** Files named by these variables are certificates the upstream needs to verify TLS: shown read-only. */
const CERT_VARIABLES = ['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR']

type Entry = {type: 'dir' | 'file'} | {type: 'symlink'; target: string} | undefined

/** What the builder needs to know of the host; the real file system by default, a table in tests. */
export interface HostView {
  entry(p: string): Entry
  realpath(p: string): string | undefined
  uid: number
}

export const realHost: HostView = {
  entry(p) {
    try {
      const st = lstatSync(p)
      if (st.isSymbolicLink()) return {type: 'symlink', target: readlinkSync(p)}
      return {type: st.isDirectory() ? 'dir' : 'file'}
    } catch {
      return undefined
    }
  },
  realpath(p) {
    try {
      return realpathSync(p)
    } catch {
      return undefined
    }
  },
  uid: process.getuid?.() ?? -1,
}

/** `inner` is `outer` or below it. */
export function within(inner: string, outer: string): boolean {
  const rel = path.relative(outer, inner)
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))
}

function isSystemPath(p: string): boolean {
  return SYSTEM_DIRS.some((dir) => within(p, dir))
}

/** The command's file: as given when it holds a slash, else the first match on the upstream's PATH. */
export function resolveCommand(command: string, env: Readonly<Record<string, string>>, host: HostView, cwd = process.cwd()): string | undefined {
  if (command.includes('/')) return path.resolve(cwd, command)
  for (const dir of (env.PATH ?? '').split(':')) {
    if (!dir || !path.isAbsolute(dir)) continue
    const candidate = path.join(dir, command)
    const entry = host.entry(candidate)
    if (entry && entry.type !== 'dir') return candidate
  }
  return undefined
}

/** The package a file of an npm install is in (`…/node_modules/@scope/name`), whose own dependencies it needs; undefined outside one. */
function packageRoot(file: string): string | undefined {
  const marker = `${path.sep}node_modules${path.sep}`
  const at = file.lastIndexOf(marker)
  if (at < 0) return undefined
  const [first, second] = file.slice(at + marker.length).split(path.sep)
  return path.join(file.slice(0, at + marker.length), ...(first.startsWith('@') && second ? [first, second] : [first]))
}

/**
 * Directories of a HOME that hold many programs' data, credentials among them: XDG's ~/.local
 * (~/.local/share, ~/.local/state), ~/.config and ~/.cache, ~/.cargo (its credentials.toml), ~/go,
 * and keys. A command installed in one (`~/.local/bin/uvx`, as uv's installer and pipx put them;
 * `~/.cargo/bin/…`) is not a prefix of its own: it gets its file alone, never the whole root; a
 * prefix below one (a tool's own environment, ~/.local/share/pipx/venvs/x) is shown.
 */
const SHARED_HOME_ROOTS = ['.local', '.local/share', '.local/state', '.local/lib', '.config', '.cache', '.cargo', 'go', '.ssh', '.gnupg']

/**
 * The install prefix a command needs outside the system directories (an nvm or pyenv Node or
 * Python, a uv binary): `/x/v20/bin/node` needs `/x/v20`; a file of an npm package needs the
 * package (a global install's link points into it); a file elsewhere needs its directory. Never
 * the operator's HOME itself, nor anything above it, nor a root of SHARED_HOME_ROOTS or anything
 * above one: each as named and as its real path (a HOME or ~/.local that is a link, or a path
 * that reaches HOME through one).
 * The command as named counts, and its real path: a pipx or `uv tool` command in ~/.local/bin is
 * a link into the tool's own environment, whose prefix it needs; and a Python environment's
 * interpreter (`bin/python`, a link to the Python it was made from, a uv-managed one in
 * ~/.local/share/uv/python say) is followed the same way.
 */
function commandPrefixes(file: string | undefined, host: HostView, operatorHomes: readonly string[]): string[] {
  if (!file) return []
  const homes = [...new Set(operatorHomes.flatMap((home) => [home, host.realpath(home) ?? home]))]
  const shared = homes.flatMap((home) => SHARED_HOME_ROOTS.map((root) => path.join(home, root))).flatMap((root) => [root, host.realpath(root) ?? root])
  /** Whether `dir`, as named or as its real path, is the HOME or a shared root, or above one of them. */
  const covers = (dir: string, roots: readonly string[]) => [dir, host.realpath(dir) ?? dir].some((d) => roots.some((root) => within(root, d)))
  const out = new Set<string>()
  const candidates = [file, host.realpath(file)]
  for (let i = 0; i < candidates.length; i++) {
    const p = candidates[i]
    if (!p || isSystemPath(p)) continue
    const dir = path.dirname(p)
    let prefix = path.basename(dir) === 'bin' ? path.dirname(dir) : (packageRoot(p) ?? dir)
    if (covers(prefix, homes)) prefix = dir
    if (covers(prefix, shared)) prefix = p
    if (covers(prefix, homes)) continue
    // A Python environment: its interpreter is a link to where the Python it was made from lives.
    const python = path.join(prefix, 'bin', 'python')
    if (prefix !== p && host.entry(python) && candidates.length < 6) candidates.push(host.realpath(python))
    if (prefix !== '/') out.add(prefix)
  }
  return [...out]
}

/**
 * Where a host path shows inside the sandbox, through any of the directories bound at their own
 * path: under a bound directory as named, and under one whose real path holds its real path (a
 * key file reached through a symlinked ~/.config; an allowed path that is a symlink).
 */
function shownAt(p: string, bound: readonly string[], host: HostView): string[] {
  const real = host.realpath(p) ?? p
  const out = new Set<string>()
  for (const dir of bound) {
    if (within(p, dir)) out.add(p)
    const realDir = host.realpath(dir) ?? dir
    if (within(real, realDir)) out.add(path.join(dir, path.relative(realDir, real)))
  }
  return [...out]
}

function bindSystem(args: string[], host: HostView, readOnly: string[]): void {
  for (const dir of SYSTEM_DIRS) {
    const entry = host.entry(dir)
    if (!entry) continue
    if (entry.type === 'symlink') args.push('--symlink', entry.target, dir)
    else if (entry.type === 'dir') {
      args.push('--ro-bind', dir, dir)
      readOnly.push(dir)
    }
  }
}

function mask(args: string[], p: string, host: HostView): boolean {
  let entry = host.entry(p)
  // A symlink shows as what it points to (an allowed path that is a symlink to a directory).
  if (entry?.type === 'symlink') entry = host.entry(host.realpath(p) ?? p)
  if (!entry) return false
  if (entry.type === 'dir') args.push('--tmpfs', p)
  else args.push('--ro-bind', '/dev/null', p)
  return true
}

/**
 * The operator's homes: HOME, and the home the system gives the user keyward runs as, which
 * differ under `sudo` without -H or a HOME set for keyward alone (HOME=/srv/keyward): the files
 * to keep out are in the user's own home either way. `/` (a service account's HOME) is no home
 * to keep out: it is left out of the list.
 */
export function operatorHomes(): string[] {
  let system: string | undefined
  try {
    system = os.userInfo().homedir
  } catch {
    // A uid with no passwd entry: HOME alone.
  }
  return [process.env.HOME, system].filter((home): home is string => typeof home === 'string' && path.isAbsolute(home) && path.resolve(home) !== '/')
}

/**
 * bubblewrap's arguments for a sandboxed upstream (without the bwrap program itself). Pure but
 * for what `host` reports; throws INVALID_INPUT for an allowed path that does not exist.
 */
export function sandboxArgs(request: LaunchRequest, policy: SandboxPolicy, host: HostView = realHost, homes: string | readonly string[] = operatorHomes()): {args: string[]; command: string; view: SandboxView} {
  const homeList = typeof homes === 'string' ? [homes] : homes
  const args = ['--die-with-parent', '--new-session', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try']
  if (!policy.network) args.push('--unshare-net')
  // Without a user namespace (running as root), bwrap keeps root's capabilities unless told.
  if (host.uid === 0) args.push('--cap-drop', 'ALL')
  const view: SandboxView = {readOnly: [], readWrite: [], hidden: [], home: request.home, tmp: 'private', network: policy.network}
  bindSystem(args, host, view.readOnly)
  args.push('--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp')
  for (const p of ETC_MASKED) if (host.entry('/etc') && mask(args, p, host)) view.hidden.push(p)
  if (policy.network) for (const dir of RESOLVER_DIRS) if (host.entry(dir)?.type === 'dir') args.push('--ro-bind', dir, dir)
  const file = resolveCommand(request.command, request.env, host)
  const sources: string[] = []
  const bind = (p: string, mode: PathMode) => {
    args.push(mode === 'rw' ? '--bind' : '--ro-bind', p, p)
    ;(mode === 'rw' ? view.readWrite : view.readOnly).push(p)
    sources.push(p)
  }
  for (const prefix of commandPrefixes(file, host, homeList)) bind(prefix, 'ro')
  for (const name of CERT_VARIABLES) {
    const p = request.env[name]
    if (p && path.isAbsolute(p) && !isSystemPath(p) && host.entry(p)) bind(p, 'ro')
  }
  for (const allowed of policy.allow) {
    if (!host.entry(allowed.path)) throw new KeywardError('INVALID_INPUT', `--allow-path ${allowed.path} does not exist; create it or remove it with \`keyward upstream set NAME --remove-path ${allowed.path}\``)
    bind(allowed.path, allowed.mode)
  }
  // keyward's own files stay hidden wherever they show: in an allowed path, or in the system (a vault in
  // /etc/keyward); then the private HOME on top.
  const bound = [...SYSTEM_DIRS.filter((dir) => host.entry(dir)?.type === 'dir'), ...sources]
  for (const p of request.hidden) for (const at of shownAt(p, bound, host)) if (mask(args, at, host)) view.hidden.push(at)
  if (request.home) {
    args.push('--bind', request.home, SANDBOX_HOME)
    view.readWrite.push(SANDBOX_HOME)
  }
  args.push('--chdir', request.home ? SANDBOX_HOME : '/')
  return {args, command: file ?? request.command, view}
}

/** bubblewrap's arguments for an upstream that is not sandboxed: the whole system as it is, in a PID namespace of its own. */
export const PASS_THROUGH_ARGS = ['--dev-bind', '/', '/', '--proc', '/proc', '--unshare-pid', '--die-with-parent']

/** util-linux unshare's arguments for the same, where bubblewrap cannot be used. */
export function unshareArgs(uid: number): string[] {
  return [...(uid === 0 ? [] : ['--user', '--map-current-user']), '--pid', '--fork', '--kill-child', '--mount-proc']
}

// ---- probes ------------------------------------------------------------------------------------

export function bwrapPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.KEYWARD_BWRAP || 'bwrap'
}

type Probe = {ok: true} | {ok: false; why: string; missing: boolean}
const probes = new Map<string, Promise<Probe>>()

function run(file: string, args: string[]): Promise<Probe> {
  return new Promise((resolve) => {
    execFile(file, args, {timeout: 10_000, windowsHide: true}, (err, _stdout, stderr) => {
      if (!err) return resolve({ok: true})
      const code = (err as NodeJS.ErrnoException).code
      const line = String(stderr ?? '').split('\n').find((l) => l.trim() !== '') ?? err.message
      resolve({ok: false, why: line.trim().slice(0, 200), missing: code === 'ENOENT'})
    })
  })
}

function probe(key: string, file: string, args: string[]): Promise<Probe> {
  let result = probes.get(key)
  if (!result) {
    result = run(file, args)
    probes.set(key, result)
  }
  return result
}

/** Forgets the probes' results: bubblewrap may have been installed since. */
export function forgetProbes(): void {
  probes.clear()
}

/** Resolves when a sandbox can be started here; else rejects with one line saying how to fix it. */
export async function checkSandboxSupport(network = false, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (process.platform !== 'linux') {
    throw new SandboxUnavailable(`--sandbox is Linux only (it runs upstreams under bubblewrap); on ${process.platform === 'darwin' ? 'macOS' : process.platform === 'win32' ? 'Windows' : process.platform} run untrusted upstreams in a container or a VM instead`)
  }
  const bwrap = bwrapPath(env)
  const flags = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--die-with-parent', '--new-session', '--unshare-pid', '--unshare-ipc', '--unshare-uts', ...(network ? [] : ['--unshare-net'])]
  const result = await probe(`sandbox:${bwrap}:${network}`, bwrap, [...flags, '--', 'true'])
  if (result.ok) return
  probes.delete(`sandbox:${bwrap}:${network}`)
  if (result.missing) {
    throw new SandboxUnavailable(`the sandbox needs bubblewrap, and ${bwrap} was not found: install it (apt-get install bubblewrap, dnf install bubblewrap, pacman -S bubblewrap) or set KEYWARD_BWRAP to its path`)
  }
  throw new SandboxUnavailable(
    `bubblewrap cannot create the sandbox's namespaces here (${result.why}); allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 or user.max_user_namespaces > 0; on Ubuntu 24.04 the bubblewrap package's AppArmor profile allows it)`,
  )
}

/** The strongest containment available for an upstream that is not sandboxed. `KEYWARD_UPSTREAM_CONTAINMENT` picks one (docs/gateway.md). */
export async function bestContainment(env: NodeJS.ProcessEnv = process.env): Promise<Exclude<Containment, 'sandbox'>> {
  const wanted = env.KEYWARD_UPSTREAM_CONTAINMENT
  if (process.platform !== 'linux' || wanted === 'process-group') return 'process-group'
  const bwrap = bwrapPath(env)
  if (wanted !== 'unshare' && (await probe(`pass:${bwrap}`, bwrap, [...PASS_THROUGH_ARGS, '--', 'true'])).ok) return 'pid-namespace'
  const uid = process.getuid?.() ?? -1
  if ((await probe(`unshare:${uid}`, 'unshare', [...unshareArgs(uid), '--', 'true'])).ok) return 'unshare'
  return 'process-group'
}

/** How to start one upstream: the argv in front of its command, and its environment. */
export async function planLaunch(request: LaunchRequest, env: NodeJS.ProcessEnv = process.env): Promise<LaunchPlan> {
  if (request.sandbox) {
    await checkSandboxSupport(request.sandbox.network, env)
    const built = sandboxArgs(request, request.sandbox)
    // Inside, the host's temporary directory does not exist: /tmp is the sandbox's own; HOME is where it is bound.
    const childEnv = {...request.env, ...(request.env.TMPDIR ? {TMPDIR: '/tmp'} : {}), ...(request.home ? {HOME: SANDBOX_HOME} : {})}
    return {argv: [bwrapPath(env), ...built.args, '--', built.command, ...request.args], env: childEnv, containment: 'sandbox', view: built.view}
  }
  const containment = await bestContainment(env)
  const command = [request.command, ...request.args]
  const childEnv = {...request.env}
  switch (containment) {
    case 'pid-namespace':
      return {argv: [bwrapPath(env), ...PASS_THROUGH_ARGS, '--', ...command], env: childEnv, containment}
    case 'unshare':
      return {argv: ['unshare', ...unshareArgs(process.getuid?.() ?? -1), '--', ...command], env: childEnv, containment}
    default:
      return {argv: command, env: childEnv, containment}
  }
}

/** Makes sure a private HOME exists, owned by keyward's user and closed to others. */
export async function preparePrivateHome(home: string): Promise<void> {
  const {mkdir, chmod, stat} = await import('node:fs/promises')
  await mkdir(home, {recursive: true, mode: 0o700})
  if (((await stat(home)).mode & 0o077) !== 0) await chmod(home, 0o700)
}
