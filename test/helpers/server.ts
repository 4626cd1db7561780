/** Starts the built `keyward serve` and connects the MCP SDK's real Client to it. */
import type {ChildProcess} from 'node:child_process'

import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js'

import {BIN, type Sandbox} from './cli.js'

export interface RunningServe {
  child: ChildProcess
  url: string
  logs(): string
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

export async function startServe(box: Sandbox, args: string[] = [], env: Record<string, string | undefined> = {}, fds?: Record<number, number>): Promise<RunningServe> {
  const child = box.spawn(['serve', '--transport', 'http', '--port', '0', ...args], {env, fds})
  let logs = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (logs += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (logs += d))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${logs}`)), 15_000)
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(logs)
      if (match) {
        clearTimeout(timer)
        resolve(match[1])
      }
    }
    child.stderr!.on('data', check)
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`serve exited with ${code}:\n${logs}`))
    })
  })
  child.removeAllListeners('exit')
  return {
    child,
    url,
    logs: () => logs,
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode)
        child.once('exit', (code) => resolve(code))
        child.kill(signal)
      })
    },
  }
}

export async function httpClient(url: string, headers: Record<string, string>): Promise<Client> {
  const client = new Client({name: 'keyward-test', version: '1.0.0'})
  await client.connect(new StreamableHTTPClientTransport(new URL(url), {requestInit: {headers}}))
  return client
}

export const bearer = (key: string) => ({Authorization: `Bearer ${key}`})

export async function stdioClient(box: Sandbox, env: Record<string, string>): Promise<{client: Client; stderr: () => string}> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'serve', '--transport', 'stdio'],
    env: {...box.env, ...env},
    cwd: box.dir,
    stderr: 'pipe',
  })
  let stderr = ''
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
  const client = new Client({name: 'keyward-test', version: '1.0.0'})
  await client.connect(transport)
  return {client, stderr: () => stderr}
}

export async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name).sort()
}

/** A raw JSON-RPC POST, for what the SDK client would not send. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{status: number; headers: Headers; text: string}> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers},
    body: JSON.stringify(body),
  })
  return {status: res.status, headers: res.headers, text: await res.text()}
}

export const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {protocolVersion: '2025-11-25', capabilities: {}, clientInfo: {name: 'raw', version: '1'}},
}
