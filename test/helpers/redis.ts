/**
 * A real Redis per test: redis-server on a free loopback port, without persistence, stopped
 * afterwards; and a TCP proxy in front of it, to cut one replica off while the others stay.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import net from 'node:net'

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], {stdio: 'ignore'}).status === 0
}

/**
 * A suite's `before`: skips it where redis-server is missing, except where it is required. CI
 * installs redis-server (.ci/run) and sets KEYWARD_REQUIRE_REDIS: there, a missing one fails.
 */
export function needRedisServer(this: Mocha.Context): void {
  if (hasRedisServer()) return
  if (process.env.KEYWARD_REQUIRE_REDIS) throw new Error('redis-server is not installed: apt-get install redis-server')
  console.warn('    redis-server is not installed (apt-get install redis-server): these tests are skipped')
  this.skip()
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

export class RedisServer {
  private child?: ChildProcess
  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort())
    await server.restart()
    return server
  }

  /** Starts it (again, on the same port: empty, as after a crash without persistence). */
  async restart(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {stdio: ['ignore', 'pipe', 'pipe']})
    this.child = child
    let out = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10_000)
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`redis-server exited with ${code}:\n${out}`))
      })
    })
    child.removeAllListeners('exit')
  }

  /** Kills it at once, as a crash would. */
  async kill(): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve())
      child.kill('SIGKILL')
    })
  }
}

/** Forwards a port to Redis; `cut()` drops every connection and refuses new ones until `mend()`. */
export class Cable {
  private server?: net.Server
  private readonly sockets = new Set<net.Socket>()
  private constructor(
    readonly port: number,
    private readonly target: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  static async to(target: number): Promise<Cable> {
    const cable = new Cable(await freePort(), target)
    await cable.mend()
    return cable
  }

  async mend(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target, '127.0.0.1')
      for (const s of [client, upstream]) {
        this.sockets.add(s)
        s.on('close', () => this.sockets.delete(s))
        s.on('error', () => {})
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', () => resolve()))
  }

  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
    this.server = undefined
  }
}
