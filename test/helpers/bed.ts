/**
 * A test bed for end-to-end tests of the built CLI and server: a sandbox with a vault, and the
 * servers and clients a test starts, all stopped after it.
 */
import assert from 'node:assert/strict'

import type {Client} from '@modelcontextprotocol/sdk/client/index.js'

import {Sandbox} from './cli.js'
import {bearer, httpClient, startServe, type RunningServe} from './server.js'

export class Bed {
  box!: Sandbox
  readonly running: RunningServe[] = []
  readonly clients: Client[] = []

  async setUp(): Promise<void> {
    this.box = new Sandbox()
    await this.box.initWithKeyFile()
  }

  async tearDown(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.close().catch(() => {})))
    await Promise.all(this.running.splice(0).map((s) => s.stop()))
    await this.box.cleanup()
  }

  /** Runs a command that must succeed. */
  async cli(args: string[], input?: string) {
    const r = await this.box.run(args, {input})
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    return r
  }

  /** A new key (scope `full` unless `--scope` is among the flags); the key itself. */
  async key(name: string, ...flags: string[]): Promise<string> {
    const scope = flags.includes('--scope') ? [] : ['--scope', 'full']
    return (await this.cli(['keys', 'generate', '--name', name, ...scope, ...flags])).stdout.trim()
  }

  async serve(args: string[] = [], env: Record<string, string | undefined> = {}): Promise<RunningServe> {
    const s = await startServe(this.box, args, env)
    this.running.push(s)
    return s
  }

  /** Stops the servers started so far. */
  /** Stops every server started so far; resolves with their exit codes. */
  async stopServers(): Promise<(number | null)[]> {
    return Promise.all(this.running.splice(0).map((s) => s.stop()))
  }

  async connect(url: string, key: string): Promise<Client> {
    const c = await httpClient(url, bearer(key))
    this.clients.push(c)
    return c
  }
}
