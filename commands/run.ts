import {spawn} from 'node:child_process'
import {constants} from 'node:os'

import {Flags} from '@oclif/core'

import {KeywardCommand} from '../src/cli/base.js'
import {splitAtDashDash} from '../src/cli/args.js'
import {isKeywardVariable} from '../src/cli/client-key.js'
import {openSession, type Session} from '../src/cli/session.js'
import {KeywardError} from '../src/errors/index.js'
import {secretsAsEnv} from '../src/secrets/environment.js'
import {findUpstream, type StdioUpstream} from '../src/upstreams/index.js'
import type {VaultData} from '../src/vault/index.js'

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH']

export default class Run extends KeywardCommand {
  static override summary = 'Run a command with secrets from the vault in its environment.'
  static override description = `Each secret becomes a variable of the same name, added to your environment, minus KEYWARD_* variables (which could open the vault) and the client keys KEYWARD_API_KEY and MCP_API_KEY; --only picks some. A name that is not a valid variable name, or a binary value, is skipped with a warning. --upstream NAME gives exactly the environment that upstream gets from keyward serve (minimal, not yours, with its private HOME), and runs the command in its sandbox if it has one.

Signals are forwarded to the command, and its exit code is keyward's. As in a shell, a command that is not found exits 127, and one that cannot be executed 126. Nothing is printed but the warnings.`

  static override examples = [
    {description: 'Every secret', command: '<%= config.bin %> <%= command.id %> -- ./deploy.sh'},
    {description: 'Only two', command: '<%= config.bin %> <%= command.id %> --only GITHUB_TOKEN --only NPM_TOKEN -- npm publish'},
    {description: "What an upstream would get, to debug it", command: '<%= config.bin %> <%= command.id %> --upstream github -- npx -y @modelcontextprotocol/server-github'},
  ]

  static override strict = false
  static override flags = {
    only: Flags.string({description: 'Only this secret; repeatable.', multiple: true}),
    upstream: Flags.string({description: 'The environment of this upstream, exactly as keyward serve gives it.', exclusive: ['only']}),
  }

  async run() {
    // The command is everything after --, exactly as typed (its own flags and a later -- included); only what comes before is oclif's.
    const {own, rest} = splitAtDashDash(this.argv)
    const {argv, flags} = await this.parse(Run, own)
    if (argv.length > 0) throw new KeywardError('INVALID_INPUT', 'put the command after --, for example: keyward run -- ./deploy.sh')
    const command = rest ?? []
    if (command.length === 0) throw new KeywardError('INVALID_INPUT', 'give the command to run after --, for example: keyward run -- ./deploy.sh')
    const session = await openSession(flags)
    let env: Record<string, string>
    let launched = command
    if (flags.upstream) {
      const def = findUpstream(session.vault.data, flags.upstream)
      if (def.transport !== 'stdio') throw new KeywardError('INVALID_INPUT', `upstream ${def.name} is reached over HTTP; it has no environment to run a command in`)
      ;({env, argv: launched} = await upstreamLaunch(def, session, command))
    } else {
      env = secretsEnv(session.vault.data, flags.only)
    }
    process.exitCode = await runChild(launched, env)
  }
}

/** The caller's environment without keyward's own variables, plus the secrets. */
function secretsEnv(data: VaultData, only: string[] | undefined): Record<string, string> {
  const secrets = secretsAsEnv(data, only)
  // A secret named with --only that does not exist is an error, reported once, before any warning.
  const missing = secrets.skipped.filter((s) => s.why === 'no such secret').map((s) => s.name)
  if (missing.length > 0) throw new KeywardError('NOT_FOUND', `no secret named ${missing.join(', ')}; see \`keyward secrets list\``)
  for (const {name, why} of secrets.skipped) process.stderr.write(`keyward run: skipped ${name}: ${why}\n`)
  const base = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !isKeywardVariable(k)) as [string, string][])
  return {...base, ...secrets.env}
}

/** Runs the command with signals forwarded; resolves with its exit code (128 + the signal's number when a signal ended it). */
function runChild(command: string[], env: Record<string, string>): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), {env, stdio: 'inherit'})
    const forward = (signal: NodeJS.Signals) => child.kill(signal)
    const release = () => {
      for (const s of FORWARDED) process.off(s, forward)
    }
    for (const signal of FORWARDED) process.on(signal, forward)
    child.on('error', (err: NodeJS.ErrnoException) => {
      release()
      reject(spawnFailure(command[0], err))
    })
    child.on('exit', (exitCode, signal) => {
      release()
      resolve(exitCode ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0))
    })
  })
}

/** A command that could not be started, with the shell's exit codes: 127 not found, 126 found but not executable. */
function spawnFailure(name: string, err: NodeJS.ErrnoException): KeywardError {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return new KeywardError('COMMAND_NOT_FOUND', `cannot run ${name}: command not found; check its name and PATH`)
  const why = err.code === 'EACCES' ? 'permission denied (not executable, or a directory)' : (err.code ?? 'cannot be executed')
  return new KeywardError('COMMAND_NOT_EXECUTABLE', `cannot run ${name}: ${why}`)
}

/**
 * What the upstream gets from keyward serve: its environment and private HOME, and its sandbox
 * when it has one (a sandboxed upstream's command runs in the same sandbox). An unsandboxed one
 * runs without a PID namespace here, so that signals reach the command itself.
 */
async function upstreamLaunch(def: StdioUpstream, session: Session, command: string[]): Promise<{env: Record<string, string>; argv: string[]}> {
  const [{resolveUpstream}, {planLaunch, preparePrivateHome}] = await Promise.all([import('../src/server/gateway/resolve.js'), import('../src/server/gateway/sandbox.js')])
  const resolved = resolveUpstream(def, session.vault.data, {vaultId: session.vault.header.vault_id, vaultFile: session.file})
  const launch = resolved.launch!
  if (launch.home) await preparePrivateHome(launch.home)
  if (!launch.sandbox) return {env: resolved.env ?? {}, argv: command}
  const plan = await planLaunch({command: command[0], args: command.slice(1), env: resolved.env ?? {}, ...launch})
  return {env: plan.env, argv: plan.argv}
}
