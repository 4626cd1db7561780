/** Runs the built CLI (bin/run.js) as a user would, in an isolated home. */
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync, promises as fs} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

/** The repository: the nearest directory above this file with bin/run.js (tests run from test/ or dist/test/). */
export const ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  while (!existsSync(path.join(dir, 'bin', 'run.js'))) {
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error('keyward tests: cannot find the repository root (bin/run.js)')
    dir = parent
  }
  return dir
})()
export const BIN = path.join(ROOT, 'bin', 'run.js')

export interface Result {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  env?: Record<string, string | undefined>
  input?: string | Buffer
  cwd?: string
  /** Descriptors the child starts with beyond its stdio, by number: as a supervisor may leave some open. */
  fds?: Record<number, number>
}

/** A private directory with XDG paths set, so nothing touches the real home. */
export class Sandbox {
  readonly dir: string
  readonly env: Record<string, string>

  /** `base`: where to make the directory (default: the system's temporary directory). */
  constructor(base = os.tmpdir()) {
    this.dir = mkdtempSync(path.join(base, 'keyward-test-'))
    this.env = {
      HOME: this.dir,
      XDG_DATA_HOME: path.join(this.dir, 'data'),
      XDG_CONFIG_HOME: path.join(this.dir, 'config'),
      PATH: process.env.PATH ?? '',
      NO_COLOR: '1',
    }
  }

  get vault(): string {
    return path.join(this.dir, 'data', 'keyward', 'vault.json')
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts)
  }

  spawn(args: string[], options: RunOptions = {}): ChildProcess {
    const env = {...this.env, ...options.env}
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k]
    const extra = Object.keys(options.fds ?? {}).map(Number)
    const stdio: ('pipe' | 'ignore' | number)[] = ['pipe', 'pipe', 'pipe']
    for (let fd = 3; fd <= Math.max(2, ...extra); fd++) stdio.push(options.fds?.[fd] ?? 'ignore')
    return spawn(process.execPath, [BIN, ...args], {env: env as NodeJS.ProcessEnv, cwd: options.cwd ?? this.dir, stdio})
  }

  run(args: string[], options: RunOptions = {}): Promise<Result> {
    const child = this.spawn(args, options)
    return collect(child, options.input)
  }

  /** Creates a vault unlocked by a new key file; returns the key file path. */
  async initWithKeyFile(name = 'vault.key'): Promise<string> {
    const keyFile = this.path(name)
    const r = await this.run(['init', '--key-file-out', keyFile])
    if (r.code !== 0) throw new Error(`init failed: ${r.stderr}`)
    this.env.KEYWARD_KEY_FILE = keyFile
    return keyFile
  }

  async cleanup(): Promise<void> {
    // A child that is still exiting may write one last file (its audit log): retry rather than fail the test.
    await fs.rm(this.dir, {recursive: true, force: true, maxRetries: 10, retryDelay: 100})
  }
}

export function collect(child: ChildProcess, input?: string | Buffer): Promise<Result> {
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  child.stdin!.on('error', () => {})
  child.stdin!.end(input)
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({code, signal, stdout, stderr}))
  })
}

export function json<T = any>(r: Result): T {
  try {
    return JSON.parse(r.stdout) as T
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`)
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `check` every 50 ms until it holds or `ms` pass; the last answer is returned, for the test to assert on. */
export async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  for (let t = 0; t < ms; t += 50) {
    if (await check()) return true
    await sleep(50)
  }
  return check()
}
