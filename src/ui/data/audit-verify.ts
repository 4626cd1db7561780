/**
 * The `audit verify` verdict the console shows in its header: the real `verifyAudit`, run in a
 * worker thread so that a long log does not hold the console's event loop, when the console
 * starts, when asked, and again after the log has grown (see maybeRun).
 */
import {existsSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {Worker} from 'node:worker_threads'

import type {VerifyReport} from '../../audit/index.js'
import {packageRoot} from '../paths.js'
import type {VerifyState} from '../wire.js'

export type {VerifyState} from '../wire.js'

const AGAIN_MS = 60_000

export class AuditVerifier {
  state: VerifyState = {status: 'pending'}
  private running?: Promise<VerifyState>
  private lastRun = 0
  private lastMs = 0
  private lastSize = -1

  constructor(
    private readonly file: string,
    private readonly key: () => Promise<Buffer | undefined>,
  ) {}

  /** Verifies now (or joins the run under way). */
  run(): Promise<VerifyState> {
    this.running ??= this.verify().finally(() => (this.running = undefined))
    return this.running
  }

  /**
   * Verifies again if the log has grown, at most once a minute, and at most one part in sixty of
   * the time: a log that takes 5 s to verify is verified again after 5 minutes.
   */
  maybeRun(size: number): void {
    if (size !== this.lastSize && Date.now() - this.lastRun >= Math.max(AGAIN_MS, 60 * this.lastMs)) void this.run()
  }

  private async verify(): Promise<VerifyState> {
    this.lastRun = Date.now()
    const started = performance.now()
    try {
      return await this.check()
    } finally {
      this.lastMs = performance.now() - started
    }
  }

  private async check(): Promise<VerifyState> {
    const key = await this.key()
    if (!key) return (this.state = {status: 'absent', message: 'this vault has no audit key yet: nothing has been audited with it', checkedAt: new Date().toISOString()})
    let outcome: {report?: VerifyReport; error?: string}
    try {
      outcome = await inWorker(this.file, key)
    } catch (err) {
      outcome = {error: (err as Error).message}
    }
    const checkedAt = new Date().toISOString()
    const {report, error} = outcome
    if (error) this.state = /^there is no audit log/.test(error) ? {status: 'absent', message: error, checkedAt} : {status: 'error', message: error, checkedAt}
    else if (report!.ok) this.state = {status: 'intact', records: report!.records, checkedAt}
    else this.state = {status: 'broken', records: report!.records, kind: report!.problem!.kind, message: report!.problem!.message, checkedAt}
    this.lastSize = report?.records ?? -1
    return this.state
  }
}

/**
 * The compiled worker module under dist/src (the bundled CLI runs from dist/commands). Running
 * from TypeScript source (the unit tests), a worker would not inherit the TypeScript loader, so
 * there is none.
 */
function workerFile(): string | undefined {
  if (fileURLToPath(import.meta.url).endsWith('.ts')) return undefined
  const root = packageRoot()
  const built = root && path.join(root, 'dist', 'src', 'ui', 'data', 'verify-worker.js')
  return built && existsSync(built) ? built : undefined
}

async function inWorker(file: string, key: Buffer): Promise<{report?: VerifyReport; error?: string}> {
  const script = workerFile()
  if (!script) {
    // No compiled worker (from source, or a partial build): verify here, holding the event loop meanwhile.
    const {verifyAudit} = await import('../../audit/verify.js')
    return {report: await verifyAudit(file, key)}
  }
  return new Promise((resolve, reject) => {
    const worker = new Worker(script, {workerData: {file, key: new Uint8Array(key)}})
    worker.once('message', (m: {report?: VerifyReport; error?: string}) => {
      resolve(m)
      void worker.terminate()
    })
    worker.once('error', reject)
    worker.once('exit', (code) => code !== 0 && reject(new Error(`the verifier stopped (exit ${code})`)))
  })
}
