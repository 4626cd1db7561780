/**
 * Replicas on Redis: tools/call throughput (stateless HTTP) of 1 replica counting its rate
 * limits in Redis, and of 3 replicas sharing one Redis (loaded at once, each by its own load
 * generator), against 1 replica on the memory store, all in this run, on this machine.
 */
import {spawnSync} from 'node:child_process'
import {createServer} from 'node:net'
import path from 'node:path'

import {createKey} from '../src/keys/index.js'
import {updateVault} from '../src/vault/index.js'
import {ECHO, load, measure, WARMUP_S, DURATION_S} from './load.js'
import {BIN, env, startProcess, stopProcess, tempVault, type Row} from './util.js'

const UNLIMITED = {limit: 100_000_000, windowSeconds: 60}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const {port} = probe.address() as {port: number}
      probe.close(() => resolve(port))
    })
  })
}

export async function benchCluster(): Promise<Row[]> {
  const group = `replicas on Redis: tools/call echo, stateless HTTP (10 connections per replica, ${DURATION_S} s)`
  if (spawnSync('redis-server', ['--version'], {stdio: 'ignore'}).status !== 0) {
    return [{group, metric: 'skipped: redis-server is not installed (apt-get install redis-server)', value: 0, unit: ''}]
  }
  const {dir, file, keyFile, material, cleanup} = await tempVault()
  const redisPort = await freePort()
  const redis = await startProcess('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], env({}), /Ready to accept connections/)
  try {
    const {key} = await updateVault(file, material, (vault) => createKey(vault.data, {name: 'bench', scopes: ['full'], rateLimit: UNLIMITED}))
    const auth = {authorization: `Bearer ${key}`}
    const redisUrl = `redis://127.0.0.1:${redisPort}`
    const replicaEnv = (i: number) => env({KEYWARD_VAULT: file, KEYWARD_KEY_FILE: keyFile, XDG_STATE_HOME: path.join(dir, `state${i}`)})
    const serveArgs = (port: number, redisArgs: string[]) => [BIN, 'serve', '--transport', 'http', '--stateless', '--port', String(port), ...redisArgs]

    let port = await freePort()
    const memory = await measure(process.execPath, serveArgs(port, []), replicaEnv(0), `http://127.0.0.1:${port}/mcp`, auth, ECHO, /listening on/)
    port = await freePort()
    const one = await measure(process.execPath, serveArgs(port, ['--redis', redisUrl]), replicaEnv(1), `http://127.0.0.1:${port}/mcp`, auth, ECHO, /listening on/)

    const ports = [await freePort(), await freePort(), await freePort()]
    const children = await Promise.all(ports.map((p, i) => startProcess(process.execPath, serveArgs(p, ['--redis', redisUrl]), replicaEnv(2 + i), /listening on/)))
    let three: {rps: number; errors: number}
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500))
      await Promise.all(ports.map((p) => load(`http://127.0.0.1:${p}/mcp`, auth, WARMUP_S, ECHO)))
      const loads = await Promise.all(ports.map((p) => load(`http://127.0.0.1:${p}/mcp`, auth, DURATION_S, ECHO)))
      three = {rps: loads.reduce((s, l) => s + l.rps, 0), errors: loads.reduce((s, l) => s + l.errors, 0)}
    } finally {
      await Promise.all(children.map((c) => stopProcess(c)))
    }
    const base = {name: '1 replica, memory store', value: memory.rps}
    return [
      {group, metric: `1 replica, memory store: p50 ${memory.p50} ms, p99 ${memory.p99} ms`, value: memory.rps, unit: 'req/s'},
      {
        group,
        metric: `1 replica, rate limits in Redis: p50 ${one.p50} ms, p99 ${one.p99} ms${one.errors ? `, ${one.errors} errors` : ''}`,
        value: one.rps,
        unit: 'req/s',
        baseline: base,
        ratio: one.rps / memory.rps,
        target: '>= 0.8x the memory store',
        pass: one.rps / memory.rps >= 0.8 && one.errors === 0,
      },
      {
        group,
        metric: `3 replicas on one Redis, all loaded at once (total)${three.errors ? `, ${three.errors} errors` : ''}`,
        value: three.rps,
        unit: 'req/s',
        baseline: base,
        ratio: three.rps / memory.rps,
      },
      {group, metric: '3 replicas: per replica', value: three.rps / 3, unit: 'req/s', baseline: base, ratio: three.rps / 3 / memory.rps},
    ]
  } finally {
    await stopProcess(redis)
    cleanup()
  }
}
