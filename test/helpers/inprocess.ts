/**
 * keyward serve in this process, for tests that add stages or tool sources (the embedding API),
 * with the SDK's real Client over HTTP or over a pair of in-memory streams speaking stdio.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {PassThrough} from 'node:stream'

import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {ReadBuffer, serializeMessage} from '@modelcontextprotocol/sdk/shared/stdio.js'
import type {Transport} from '@modelcontextprotocol/sdk/shared/transport.js'
import type {JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js'

import {createKey} from '../../src/keys/index.js'
import {serve, type RunningServer, type ServeOptions} from '../../src/server/index.js'
import type {Logger} from '../../src/server/log.js'
import {createKeyFile, createVault, type KeyMaterial, updateVault} from '../../src/vault/index.js'

export interface TestVault {
  dir: string
  file: string
  material: KeyMaterial
  key(name: string, scopes: string[]): Promise<string>
  cleanup(): void
}

export async function testVault(): Promise<TestVault> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keyward-inproc-'))
  const file = path.join(dir, 'vault.json')
  const material = await createKeyFile(path.join(dir, 'vault.key'))
  await createVault(file, [material], {force: false})
  return {
    dir,
    file,
    material,
    key: async (name, scopes) => (await updateVault(file, material, (vault) => createKey(vault.data, {name, scopes}))).key,
    cleanup: () => rmSync(dir, {recursive: true, force: true}),
  }
}

/** A logger that keeps its lines, for assertions. */
export function memoryLogger(): Logger & {lines: string[]} {
  const lines: string[] = []
  const log = ((level: string, message: string) => void lines.push(`${level}: ${message}`)) as unknown as Logger & {lines: string[]}
  log.lines = lines
  return log
}

export async function serveInProcess(vault: TestVault, options: Partial<ServeOptions>): Promise<RunningServer & {log: ReturnType<typeof memoryLogger>}> {
  const log = memoryLogger()
  const running = await serve({
    vaultFile: vault.file,
    material: vault.material,
    transport: 'http',
    auth: ['api-key'],
    host: '127.0.0.1',
    port: 0,
    stateless: false,
    allowedHosts: [],
    watch: false,
    version: 'test',
    log,
    ...options,
    // Beside the vault, never in the real home; small bodies, as the tests send.
    settings: {'guard.max-body': '64KiB', 'audit.path': `${vault.file}.audit.jsonl`, ...options.settings},
  })
  return Object.assign(running, {log})
}

/** The client side of stdio, over streams instead of a child process. */
export class StreamClientTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void
  private readonly buffer = new ReadBuffer()

  constructor(
    private readonly fromServer: PassThrough,
    private readonly toServer: PassThrough,
  ) {}

  async start(): Promise<void> {
    this.fromServer.on('data', (chunk: Buffer) => {
      this.buffer.append(chunk)
      for (let m = this.buffer.readMessage(); m; m = this.buffer.readMessage()) this.onmessage?.(m)
    })
  }

  async send(message: JSONRPCMessage): Promise<void> {
    this.toServer.write(serializeMessage(message))
  }

  async close(): Promise<void> {
    this.toServer.end()
    this.onclose?.()
  }
}

/** Streams for an in-process stdio server, and a connected SDK client. */
export async function stdioPair(): Promise<{input: PassThrough; output: PassThrough; connect(): Promise<Client>}> {
  const input = new PassThrough()
  const output = new PassThrough()
  return {
    input,
    output,
    async connect() {
      const client = new Client({name: 'keyward-test', version: '1.0.0'})
      await client.connect(new StreamClientTransport(output, input))
      return client
    },
  }
}
