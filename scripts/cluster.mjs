#!/usr/bin/env node
// `npm run cluster`: a local cluster on loopback: one Redis (redis-server, no persistence) and 3
// replicas of `keyward serve` (stateless HTTP) on ports 8765, 8766 and 8767, sharing rate limits
// and vault changes through that Redis. Ctrl-C stops them all. No Docker.
//
//   CLUSTER_REPLICAS=3   how many replicas     CLUSTER_PORT=8765   the first replica's port
//
// It serves the default vault (or $KEYWARD_VAULT), unlocked as every command is: run `npm start`
// once first, which creates the vault, a key file and a first key.
import {spawn, spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {createServer} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin', 'run.js')
const REPLICAS = Number(process.env.CLUSTER_REPLICAS ?? 3)
const FIRST_PORT = Number(process.env.CLUSTER_PORT ?? 8765)

function fail(message) {
  process.stderr.write(`cluster: ${message}\n`)
  process.exit(1)
}

if (spawnSync('redis-server', ['--version'], {stdio: 'ignore'}).status !== 0) fail('redis-server is not installed; on Debian or Ubuntu: sudo apt-get install redis-server')
const vault = process.env.KEYWARD_VAULT || path.join(process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'keyward', 'vault.json')
if (!existsSync(vault)) fail(`there is no vault at ${vault} yet: run \`npm start\` once (it creates one, with a key file and a first key), then npm run cluster`)

const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const {port} = probe.address()
    probe.close(() => resolve(port))
  })
})
const children = []
let stopping = false
function stopAll(code) {
  if (stopping) return
  stopping = true
  process.stderr.write('\ncluster: stopping\n')
  // The replicas first, then Redis, so that they do not report losing it.
  const [redis, ...replicas] = children
  let left = replicas.length
  const stopRedis = () => {
    redis.once('exit', () => process.exit(code))
    redis.kill('SIGTERM')
  }
  for (const child of replicas) {
    child.once('exit', () => --left === 0 && stopRedis())
    child.kill('SIGTERM')
  }
  if (left === 0) stopRedis()
  setTimeout(() => process.exit(code), 8000).unref()
}
process.on('SIGINT', () => stopAll(0))
process.on('SIGTERM', () => stopAll(0))

function start(name, command, args, ready, quiet = false) {
  const child = spawn(command, args, {stdio: ['ignore', 'pipe', 'pipe'], env: process.env})
  children.push(child)
  let out = ''
  const prefix = (text) => text.split('\n').filter(Boolean).map((l) => `[${name}] ${l}\n`).join('')
  return new Promise((resolve) => {
    const onData = (d) => {
      const text = d.toString()
      if (!quiet) process.stderr.write(prefix(text))
      out += text
      if (ready.test(out)) resolve()
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => {
      if (!stopping) {
        process.stderr.write(`${quiet ? prefix(out) : ''}cluster: ${name} exited (${code}); stopping the rest\n`)
        stopAll(1)
      }
    })
  })
}

const redisUrl = `redis://127.0.0.1:${port}`
await start('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], /Ready to accept connections/, true)
for (let i = 0; i < REPLICAS; i++) {
  await start(`replica ${i + 1}`, process.execPath, [BIN, 'serve', '--transport', 'http', '--stateless', '--port', String(FIRST_PORT + i), '--redis', redisUrl], /listening on/)
}
process.stderr.write(
  [
    '',
    `cluster: Redis on ${redisUrl}; ${REPLICAS} replicas on http://127.0.0.1:${FIRST_PORT}/mcp to http://127.0.0.1:${FIRST_PORT + REPLICAS - 1}/mcp`,
    `cluster: see them with: node bin/run.js status --redis ${redisUrl}`,
    `cluster: tell them about changes with --redis ${redisUrl} (or KEYWARD_REDIS_URL=${redisUrl}) on keyward commands`,
    'cluster: Ctrl-C stops everything',
    '',
  ].join('\n'),
)
