/** For audit tests: a private directory with a state directory of its own, a key, and logs to write and read. */
import {randomBytes} from 'node:crypto'
import {promises as fs, readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {AuditLog, type AuditLogOptions} from '../../src/audit/index.js'

/** The default audit log of the vault in `vaultFile`, under the state directory `stateHome` ($XDG_STATE_HOME). */
export function vaultAuditLog(vaultFile: string, stateHome: string): string {
  const {vault_id: id} = JSON.parse(readFileSync(vaultFile, 'utf8')) as {vault_id: string}
  return path.join(stateHome, 'keyward', 'audit', `${id}.jsonl`)
}

export class AuditBox {
  dir = ''
  key = randomBytes(32)
  env: NodeJS.ProcessEnv = {}

  async setUp(): Promise<void> {
    this.dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keyward-audit-'))
    this.env = {XDG_STATE_HOME: path.join(this.dir, 'state'), HOME: this.dir}
    this.key = randomBytes(32)
  }

  async tearDown(): Promise<void> {
    await fs.rm(this.dir, {recursive: true, force: true})
  }

  get file(): string {
    return path.join(this.dir, 'log', 'audit.jsonl')
  }

  log(options: Partial<AuditLogOptions> = {}): AuditLog {
    return new AuditLog({file: this.file, key: this.key, maxSize: 1024 ** 2, env: this.env, ...options})
  }

  /** Writes `count` records one batch each (`{event: 'test', i}` from `from`), then closes. */
  async write(count: number, from = 0, options: Partial<AuditLogOptions> = {}): Promise<void> {
    const log = this.log(options)
    for (let i = from; i < from + count; i++) await log.record({event: 'test', i})
    await log.close()
  }

  async lines(file = this.file): Promise<string[]> {
    return (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean)
  }

  async records(file = this.file): Promise<{seq: number; event: string; i?: number; [k: string]: unknown}[]> {
    return (await this.lines(file)).map((l) => JSON.parse(l))
  }

  async names(): Promise<string[]> {
    return (await fs.readdir(path.dirname(this.file))).sort()
  }
}
