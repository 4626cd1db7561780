/**
 * What an upstream may see of the host, as its definition says: sandboxed or not, the paths it
 * is allowed, whether it has a network; and the private HOME every stdio upstream gets unless
 * the operator passes one through. How that is enforced is src/server/gateway/sandbox.ts.
 */
import os from 'node:os'
import path from 'node:path'

import {KeywardError} from '../errors/index.js'
import type {KeyMaterial} from '../vault/index.js'
import {defaultKeyFilePath, defaultStateDir, defaultVaultPath} from '../vault/paths.js'
import type {AllowPath, PathMode, StdioUpstream, UpstreamDefinition} from './definition.js'

export type {AllowPath, PathMode} from './definition.js'

export interface SandboxPolicy {
  allow: readonly AllowPath[]
  network: boolean
}

/** `PATH`, `PATH:ro` or `PATH:rw` (read-only unless `:rw`); absolute, normalised, never `/`. */
export function parseAllowPath(spec: string, cwd = process.cwd()): AllowPath {
  const m = /^(.*?)(?::(ro|rw))?$/.exec(spec)!
  const raw = m[1]
  if (raw === '') throw new KeywardError('INVALID_INPUT', `--allow-path ${JSON.stringify(spec.slice(0, 80))}: give a path, optionally followed by :ro or :rw`)
  if (/[\0\n]/.test(raw)) throw new KeywardError('INVALID_INPUT', '--allow-path: a path cannot hold a NUL or a line break')
  const expanded = raw === '~' || raw.startsWith('~/') ? path.join(os.homedir(), raw.slice(1)) : raw
  const resolved = path.resolve(cwd, expanded)
  if (resolved === '/') throw new KeywardError('INVALID_INPUT', '--allow-path /: that is the whole system; run the upstream without --sandbox instead')
  return {path: resolved, mode: (m[2] as PathMode | undefined) ?? 'ro'}
}

export function formatAllowPath(p: AllowPath): string {
  return `${p.path}:${p.mode}`
}

/** The sandbox an upstream runs in, or undefined when it runs unsandboxed (and every HTTP upstream). */
export function sandboxPolicyOf(def: UpstreamDefinition): SandboxPolicy | undefined {
  if (def.transport !== 'stdio' || !def.sandbox) return undefined
  return {allow: def.allowPaths ?? [], network: def.network !== false}
}

/** Adds, replaces (same path) or removes allowed paths. */
export function withAllowPaths(current: readonly AllowPath[] | undefined, add: readonly AllowPath[], remove: readonly string[]): AllowPath[] {
  const removed = new Set(remove.map((p) => path.resolve(p)))
  const out = new Map((current ?? []).filter((p) => !removed.has(p.path)).map((p) => [p.path, p]))
  for (const p of add) out.set(p.path, p)
  return [...out.values()]
}

/**
 * The private HOME of one upstream of one vault: empty at first, kept between runs (its npm
 * and uv caches live there), closed to others (0700). Nothing of the operator's HOME is in it.
 */
export function upstreamHome(vaultId: string, name: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(defaultStateDir(env), 'upstreams', vaultId, name, 'home')
}

/** The HOME an upstream gets: the operator's own `--env HOME=…` if given, else its private one. */
export function homeFor(def: StdioUpstream, vaultId: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return def.env.HOME ? undefined : upstreamHome(vaultId, def.name, env)
}

/**
 * keyward's own files and directories: the vault's directory, the key files, the state
 * directory (the audit log, every upstream's HOME) and the config directory. A sandbox hides
 * each of them even inside a path it allows.
 */
export function keywardPaths(vaultFile: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const paths = [path.dirname(vaultFile), path.dirname(defaultVaultPath(env)), path.dirname(defaultKeyFilePath(env)), defaultStateDir(env)]
  if (env.KEYWARD_KEY_FILE) paths.push(path.resolve(env.KEYWARD_KEY_FILE))
  // A stdio serve's own API key (cli/serve.ts stdioCredential): an upstream holding it could call keyward as its client.
  if (env.KEYWARD_API_KEY_FILE) paths.push(path.resolve(env.KEYWARD_API_KEY_FILE))
  if (env.KEYWARD_AUDIT_LOG) paths.push(path.dirname(path.resolve(env.KEYWARD_AUDIT_LOG)))
  return [...new Set(paths)]
}

/**
 * keyward's own files that a flag or the vault's settings named, beside the defaults
 * `keywardPaths` knows: the file the vault was unlocked with (--key-file, --passphrase-file) and
 * the audit log's directory (--audit-log, audit.path). An unlock secret from the environment or
 * a prompt has a name for origin, not a file: it resolves to a path that is not there, and masks nothing.
 */
export function givenPaths(material: KeyMaterial, auditFile?: string): string[] {
  return [path.resolve(material.source.origin), ...(auditFile ? [path.dirname(path.resolve(auditFile))] : [])]
}
