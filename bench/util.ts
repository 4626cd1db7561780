import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {ensureAuditKey} from '../src/audit/key.js'
import {createKeyFile, createVault, type KeyMaterial} from '../src/vault/index.js'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const BIN = path.join(ROOT, 'bin', 'run.js')

export interface Row {
  group: string
  metric: string
  value: number
  unit: string
  baseline?: {name: string; value: number}
  /** value / baseline, oriented so that the target reads naturally (see target). */
  ratio?: number
  target?: string
  pass?: boolean
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export function timeMs(fn: () => void): number {
  const start = process.hrtime.bigint()
  fn()
  return Number(process.hrtime.bigint() - start) / 1e6
}

export async function timeAsyncMs(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - start) / 1e6
}

/** Wall time of a whole command, stdout and stderr to /dev/null, as hyperfine measures it. */
export function wallMs(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const start = process.hrtime.bigint()
  const r = spawnSync(command, args, {env, stdio: 'ignore'})
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}`)
  return ms
}

/** Starts a server and resolves once its output (stderr or stdout) matches `ready`. */
export function startProcess(command: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<ChildProcess> {
  const child = spawn(command, args, {env, stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  return new Promise((resolve, reject) => {
    // A server that never says it is ready is not left running behind the benchmark.
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`not ready: ${out}`))
    }, 20_000)
    const watch = (d: string) => {
      out += d
      if (ready.test(out)) {
        clearTimeout(timer)
        resolve(child)
      }
    }
    child.stderr!.setEncoding('utf8').on('data', watch)
    child.stdout!.setEncoding('utf8').on('data', watch)
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)))
  })
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  child.removeAllListeners('exit')
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

/** A vault with a key file in a fresh temporary directory; `cleanup` removes it all. */
export async function tempVault(): Promise<{dir: string; file: string; keyFile: string; material: KeyMaterial; cleanup: () => void}> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keyward-bench-'))
  const file = path.join(dir, 'vault.json')
  const keyFile = path.join(dir, 'vault.key')
  const material = await createKeyFile(keyFile)
  await createVault(file, [material], {force: false, initialize: ensureAuditKey})
  return {dir, file, keyFile, material, cleanup: () => rmSync(dir, {recursive: true, force: true})}
}

export const env = (extra: Record<string, string>): NodeJS.ProcessEnv => ({...process.env, NO_COLOR: '1', ...extra})
