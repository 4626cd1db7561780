/**
 * Upstream OAuth: what carrying an OAuth token costs a tools/call through keyward, against the
 * same upstream (test/fixtures/oauth-upstream.ts, Streamable HTTP) reached with a static
 * `Authorization` header from the vault, in the same run; and whether calls made while a renewal
 * runs wait for it (they must not while the old token is still valid). The issuer is the test
 * issuer (oauth2-mock-server); its token endpoint is made slow for the second measure.
 */
import {randomUUID} from 'node:crypto'
import path from 'node:path'

import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'

import {createKey} from '../src/keys/index.js'
import {setSecret} from '../src/secrets/index.js'
import {addUpstream} from '../src/upstreams/index.js'
import {oauthStateOf, setOAuthState} from '../src/upstreams/oauth/store.js'
import {updateVault} from '../src/vault/index.js'
import {startOAuthUpstream} from '../test/fixtures/oauth-upstream.js'
import {TestIssuer} from '../test/helpers/issuer.js'
import {BIN, env, tempVault, type Row} from './util.js'

const CALLS = 1500
const DURING = 400
const SLOW_TOKEN_MS = 400

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]
}

async function connect(processEnv: Record<string, string>): Promise<Client> {
  const client = new Client({name: 'bench', version: '1'})
  await client.connect(new StdioClientTransport({command: process.execPath, args: [BIN, 'serve', '--transport', 'stdio', '--quiet'], env: processEnv, stderr: 'ignore'}))
  return client
}

/** Sequential calls: when each started (ms since the epoch) and how long it took. */
async function timed(client: Client, tool: string, n: number): Promise<{at: number; ms: number}[]> {
  const out: {at: number; ms: number}[] = []
  for (let i = 0; i < n; i++) {
    const at = Date.now()
    const start = process.hrtime.bigint()
    const result = await client.callTool({name: tool, arguments: {}})
    out.push({at, ms: Number(process.hrtime.bigint() - start) / 1e6})
    if (result.isError) throw new Error(`${tool}: ${JSON.stringify(result.content).slice(0, 200)}`)
  }
  return out
}

export async function benchUpstreamOAuth(): Promise<Row[]> {
  const issuer = new TestIssuer()
  await issuer.start()
  const staticToken = `static-${randomUUID()}`
  const upstream = await startOAuthUpstream({issuer: issuer.url, staticToken})
  const {file, keyFile, material, cleanup} = await tempVault()
  try {
    const token = await issuer.server.issuer.buildToken({scopesOrTransform: (_h, p) => Object.assign(p, {aud: upstream.resource, sub: 'bench', jti: randomUUID()}), expiresIn: 7200})
    const now = new Date().toISOString()
    const {key} = await updateVault(file, material, (vault) => {
      setSecret(vault.data, 'STATIC_TOKEN', Buffer.from(staticToken))
      addUpstream(vault.data, {name: 'plain', transport: 'http', url: upstream.url, headers: {Authorization: 'Bearer {secret:STATIC_TOKEN}'}, prefix: true, created: now, updated: now})
      addUpstream(vault.data, {name: 'oauth', transport: 'http', url: upstream.url, headers: {}, oauth: {grant: 'authorization_code', clientId: 'bench'}, prefix: true, created: now, updated: now})
      setOAuthState(vault.data, 'oauth', {grant: 'authorization_code', grantId: randomUUID(), version: 1, loggedInAt: now, refreshes: 0, obtainedAt: Date.now(), tokens: {access_token: token, token_type: 'Bearer', expires_at: Date.now() + 7_200_000}})
      return createKey(vault.data, {name: 'bench', scopes: ['plain__*', 'oauth__*'], rateLimit: {limit: 100_000_000, windowSeconds: 60}})
    })
    const kwEnv = env({KEYWARD_VAULT: file, KEYWARD_KEY_FILE: keyFile, KEYWARD_API_KEY: key, XDG_STATE_HOME: path.dirname(file)}) as Record<string, string>
    const rows: Row[] = []

    // One serve for both upstreams; rounds interleaved, so drift hits both alike.
    const client = await connect(kwEnv)
    try {
      const plainP50: number[] = []
      const oauthP50: number[] = []
      await timed(client, 'plain__whoami', 200)
      await timed(client, 'oauth__whoami', 200)
      for (let round = 0; round < 3; round++) {
        plainP50.push(percentile((await timed(client, 'plain__whoami', CALLS)).map((c) => c.ms), 50))
        oauthP50.push(percentile((await timed(client, 'oauth__whoami', CALLS)).map((c) => c.ms), 50))
      }
      const plain = percentile(plainP50, 50)
      const oauth = percentile(oauthP50, 50)
      const group = `upstream OAuth: one HTTP upstream, ${CALLS} sequential tools/call through keyward (stdio), median of 3 rounds`
      rows.push(
        {group, metric: 'p50 latency, static Authorization header from the vault', value: plain, unit: 'ms'},
        {group, metric: 'p50 latency, OAuth token kept and renewed by keyward', value: oauth, unit: 'ms', baseline: {name: 'static header', value: plain}, ratio: oauth / plain},
        {group, metric: 'added p50 latency', value: oauth - plain, unit: 'ms', target: '< 0.5 ms', pass: oauth - plain < 0.5},
      )

      // The running serve is handed a token due for renewal (30 s left of an hour: a vault write,
      // as any writer makes one), and the token endpoint now takes 400 ms. The next call starts
      // the renewal; every call made until it ends must keep the old, still-valid token.
      const refresh = `rt-${randomUUID()}`
      issuer.registerRefreshToken(refresh)
      issuer.tokenDelayMs = SLOW_TOKEN_MS
      const metadata = await issuerMetadata(issuer.url)
      await updateVault(file, material, (vault) => {
        setOAuthState(vault.data, 'oauth', {
          ...oauthStateOf(vault.data, 'oauth')!,
          version: 2,
          obtainedAt: Date.now() - 3_570_000,
          tokens: {access_token: token, token_type: 'Bearer', refresh_token: refresh, expires_at: Date.now() + 30_000},
          discovery: {authorizationServerUrl: issuer.url, authorizationServerMetadata: metadata},
          resource: upstream.resource,
        })
      })
      await new Promise((resolve) => setTimeout(resolve, 300))
      const calls = await timed(client, 'oauth__whoami', DURING)
      const renewal = issuer.grants.find((g) => g.grant === 'refresh_token')
      if (!renewal || issuer.count('refresh_token') !== 1) throw new Error(`expected one renewal during the run, saw ${issuer.count('refresh_token')}`)
      const during = calls.filter((c) => c.at >= renewal.at && c.at < renewal.at + SLOW_TOKEN_MS)
      const worst = Math.max(...during.map((c) => c.ms))
      const refreshGroup = `upstream OAuth: calls made while a renewal runs (the token endpoint takes ${SLOW_TOKEN_MS} ms; the old token is still valid)`
      rows.push(
        {group: refreshGroup, metric: 'calls made during the renewal', value: during.length, unit: 'calls'},
        {group: refreshGroup, metric: 'slowest of them', value: worst, unit: 'ms', target: `< ${SLOW_TOKEN_MS / 4} ms (none waits for the renewal)`, pass: during.length > 0 && worst < SLOW_TOKEN_MS / 4},
      )
    } finally {
      await client.close()
    }
    return rows
  } finally {
    cleanup()
    await upstream.close()
    await issuer.stop()
  }
}

async function issuerMetadata(url: string) {
  const response = await fetch(`${url}/.well-known/openid-configuration`)
  return (await response.json()) as never
}
