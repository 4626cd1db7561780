/**
 * tools/call of `echo` under load (autocannon, on this machine) against a bare MCP SDK server
 * measured in the same run, and the time from spawn to the first initialize response over stdio.
 */
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import path from 'node:path'

import {createKey} from '../src/keys/index.js'
import {setSecret} from '../src/secrets/index.js'
import {updateVault} from '../src/vault/index.js'
import {CONNECTIONS, DURATION_S, ECHO, INIT, measure} from './load.js'
import {BIN, env, median, ROOT, tempVault, type Row} from './util.js'

function timeToInitialize(command: string, args: string[], processEnv: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint()
    const child = spawn(command, args, {env: processEnv, stdio: ['pipe', 'pipe', 'ignore']})
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d
      if (out.includes('"id":0')) {
        const ms = Number(process.hrtime.bigint() - start) / 1e6
        child.kill('SIGKILL')
        resolve(ms)
      }
    })
    child.on('exit', (code) => {
      if (!out.includes('"id":0')) reject(new Error(`${args.join(' ')} exited ${code} before answering`))
    })
    child.stdin.write(JSON.stringify(INIT) + '\n')
  })
}

interface Variant {
  label: string
  modes: ('stateful' | 'stateless')[]
  /** The target ratio against the bare SDK, stateful. */
  target: number
  args: string[]
  env?: NodeJS.ProcessEnv
  auth(url: string): Promise<Record<string, string>>
}

/** A vault holding 10,000 secrets (all redacted from every result) and a key: the every-stage variant. */
async function protectedVault(dir: string): Promise<{env: NodeJS.ProcessEnv; key: string; cleanup(): void}> {
  const vault = await tempVault()
  const {key} = await updateVault(vault.file, vault.material, (v) => {
    for (let i = 0; i < 10_000; i++) setSecret(v.data, `SECRET_${i}`, Buffer.from(randomBytes(18).toString("base64url")))
    return createKey(v.data, {name: 'bench', scopes: ['full'], rateLimit: UNLIMITED})
  })
  return {env: env({KEYWARD_VAULT: vault.file, KEYWARD_KEY_FILE: vault.keyFile, XDG_STATE_HOME: dir}), key, cleanup: vault.cleanup}
}

/** Rate limits stay on in every variant, set high enough that the load is counted, never refused. */
const UNLIMITED = {limit: 100_000_000, windowSeconds: 60}

/** The ways keyward is measured: API keys (both modes), OAuth JWTs from a real issuer started here, and every stage with 10,000 secrets (stateful). */
async function serverVariants(key: string, stateDir: string): Promise<Variant[] & {close(): Promise<void>}> {
  const {OAuth2Server} = await import('oauth2-mock-server')
  const issuer = new OAuth2Server()
  await issuer.issuer.keys.generate('ES256')
  await issuer.start(0, '127.0.0.1')
  const variants: Variant[] = [
    {label: 'API key auth', modes: ['stateful', 'stateless'], target: 1.4, args: [], auth: async () => ({authorization: `Bearer ${key}`})},
    {
      label: 'JWT auth (OAuth 2.1, ES256)',
      modes: ['stateful'],
      target: 1.3,
      args: ['--auth', 'oauth2', '--oauth-issuer', issuer.issuer.url!, '--ratelimit-oauth2', `${UNLIMITED.limit}/min`],
      auth: async (url) => ({authorization: `Bearer ${await issuer.issuer.buildToken({scopesOrTransform: (_h, p) => Object.assign(p, {aud: url, scope: 'mcp:tool:*', sub: 'bench'})})}`}),
    },
  ]
  const full = await protectedVault(stateDir)
  variants.push({
    label: 'every stage: API key, rate limit, guard, redaction of 10,000 secrets, audit',
    modes: ['stateful'],
    target: 1.2,
    args: [],
    env: full.env,
    auth: async () => ({authorization: `Bearer ${full.key}`}),
  })
  return Object.assign(variants, {
    close: async () => {
      full.cleanup()
      await issuer.stop()
    },
  })
}

export async function benchServe(): Promise<Row[]> {
  const {dir, file, keyFile, material, cleanup} = await tempVault()
  try {
    const {key} = await updateVault(file, material, (vault) => createKey(vault.data, {name: 'bench', scopes: ['full'], rateLimit: UNLIMITED}))
    // The audit log goes beside the vault, not into the real home.
    const kwEnv = env({KEYWARD_VAULT: file, KEYWARD_KEY_FILE: keyFile, KEYWARD_API_KEY: key, XDG_STATE_HOME: dir})
    const baseline = path.join(ROOT, 'dist', 'bench', 'baselines')
    const rows: Row[] = []
    const group = `tools/call echo over HTTP (${CONNECTIONS} connections, ${DURATION_S} s)`

    const variants = await serverVariants(key, dir)
    try {
      for (const mode of ['stateful', 'stateless'] as const) {
        const port = 18_000 + Math.floor(Math.random() * 2000)
        const url = `http://127.0.0.1:${port}/mcp`
        const bare = await measure(process.execPath, [path.join(baseline, 'sdk-http.js'), String(port), mode], env({}), url, {}, ECHO)
        rows.push({group, metric: `bare SDK, ${mode}${mode === 'stateless' ? ' (new server per request)' : ''}: p50 ${bare.p50} ms, p99 ${bare.p99} ms`, value: bare.rps, unit: 'req/s', ...(bare.errors ? {target: `${bare.errors} errors`} : {})})
        for (const variant of variants.filter((v) => v.modes.includes(mode))) {
          const kwArgs = [BIN, 'serve', '--transport', 'http', '--port', String(port), ...(mode === 'stateless' ? ['--stateless'] : []), ...variant.args]
          const kw = await measure(process.execPath, kwArgs, variant.env ?? kwEnv, url, await variant.auth(url), ECHO)
          const ratio = kw.rps / bare.rps
          const wanted = mode === 'stateful' ? variant.target : 2
          rows.push({
            group,
            metric: `keyward, ${mode}, ${variant.label}: p50 ${kw.p50} ms, p99 ${kw.p99} ms${kw.errors ? `, ${kw.errors} errors` : ''}`,
            value: kw.rps,
            unit: 'req/s',
            baseline: {name: `bare SDK ${mode}`, value: bare.rps},
            ratio,
            target: `>= ${wanted}x bare SDK`,
            pass: ratio >= wanted && kw.errors === 0,
          })
        }
      }
    } finally {
      await variants.close()
    }

    const bareTimes: number[] = []
    const kwTimes: number[] = []
    for (let i = 0; i < 10; i++) {
      bareTimes.push(await timeToInitialize(process.execPath, [path.join(baseline, 'sdk-stdio.js')], env({})))
      kwTimes.push(await timeToInitialize(process.execPath, [BIN, 'serve', '--transport', 'stdio', '--quiet'], kwEnv))
    }
    const bareMs = median(bareTimes)
    const kwMs = median(kwTimes)
    rows.push(
      {group: 'stdio: spawn to first initialize response (median of 10)', metric: 'bare SDK stdio server', value: bareMs, unit: 'ms'},
      {
        group: 'stdio: spawn to first initialize response (median of 10)',
        metric: 'keyward serve --transport stdio, key file',
        value: kwMs,
        unit: 'ms',
        baseline: {name: 'bare SDK stdio', value: bareMs},
        ratio: kwMs / bareMs,
        target: '<= 1.4x bare SDK',
        pass: kwMs / bareMs <= 1.4,
      },
    )
    return rows
  } finally {
    cleanup()
  }
}
