/**
 * The two protocol eras on one server: stateless tools/call of `echo` through `keyward serve
 * --stateless`, a 2026-07-28 client (no handshake, `_meta` and the standard headers on every
 * request, served by the one server all modern requests share) against a 2025-11-25 client
 * (initialize, then calls to the shared stateless server; no session either), with the same key,
 * tool and arguments, measured in the same process, alternately, so that drift in the machine's
 * load falls on both. Issue 21: the modern era should be no slower.
 *
 * Then the SDK v2 alone, in this process (bench/baselines/sdk-eras.ts): the same call in each
 * era, on a bare SDK Server with no HTTP and nothing of keyward's, as a reference for how much
 * of the difference between the eras is the SDK's own.
 */
import {createKey} from '../src/keys/index.js'
import {updateVault} from '../src/vault/index.js'
import {sdkEraCosts} from './baselines/sdk-eras.js'
import {CONNECTIONS, DURATION_S, ECHO, load, type Load, type LoadEra, WARMUP_S} from './load.js'
import {BIN, env, startProcess, stopProcess, tempVault, type Row} from './util.js'

/**
 * Each era measured this many times, alternately, the era that goes first changing every round
 * (legacy, modern, modern, legacy, ...) so that neither always runs on the heels of the other;
 * the rows report the mean. Four rounds: across runs of two, the ratio spread over 0.84x to 0.97x.
 */
const ROUNDS = 4
const PAIRS = [['legacy', 'modern'], ['modern', 'legacy']] as const

export async function benchEra(): Promise<Row[]> {
  const {dir, file, keyFile, material, cleanup} = await tempVault()
  try {
    // Rate limits stay on, high enough that the load is counted, never refused.
    const {key} = await updateVault(file, material, (vault) => createKey(vault.data, {name: 'bench', scopes: ['full'], rateLimit: {limit: 100_000_000, windowSeconds: 60}}))
    const port = 18_000 + Math.floor(Math.random() * 2000)
    const url = `http://127.0.0.1:${port}/mcp`
    const auth = {authorization: `Bearer ${key}`}
    const child = await startProcess(process.execPath, [BIN, 'serve', '--transport', 'http', '--stateless', '--port', String(port)], env({KEYWARD_VAULT: file, KEYWARD_KEY_FILE: keyFile, XDG_STATE_HOME: dir}), /listening on/)
    const runs: Record<LoadEra, Load[]> = {legacy: [], modern: []}
    try {
      for (const era of ['legacy', 'modern'] as const) await load(url, auth, WARMUP_S, ECHO, era)
      for (let round = 0; round < ROUNDS; round++) for (const era of PAIRS[round % 2]) runs[era].push(await load(url, auth, DURATION_S, ECHO, era))
    } finally {
      await stopProcess(child)
    }
    const mean = (era: LoadEra, field: keyof Load) => runs[era].reduce((sum, r) => sum + r[field], 0) / runs[era].length
    const describe = (era: LoadEra) => `p50 ${mean(era, 'p50').toFixed(1)} ms, p99 ${mean(era, 'p99').toFixed(1)} ms${mean(era, 'errors') ? `, ${mean(era, 'errors')} errors` : ''}`
    const group = `protocol eras: stateless tools/call echo through keyward, one server (${CONNECTIONS} connections, ${ROUNDS} x ${DURATION_S} s each, alternating which goes first)`
    const legacy = mean('legacy', 'rps')
    const modern = mean('modern', 'rps')
    const ratio = modern / legacy
    const sdk = await sdkEraCosts()
    return [
      {group, metric: `2025-11-25 client (initialize, shared stateless server): ${describe('legacy')}`, value: legacy, unit: 'req/s'},
      {
        group,
        metric: `2026-07-28 client (_meta and headers per request, shared server): ${describe('modern')}`,
        value: modern,
        unit: 'req/s',
        baseline: {name: '2025-11-25 client', value: legacy},
        ratio,
        // No slower, within the run-to-run noise of a shared machine (about 5%).
        target: '>= 0.95x the 2025 era',
        pass: ratio >= 0.95 && mean('modern', 'errors') === 0,
      },
      {
        group,
        metric: `the SDK v2 alone, in process (a bare Server, no HTTP, nothing of keyward's): a 2026-07-28 call ${sdk.modern.toFixed(1)} µs, a 2025-11-25 one ${sdk.legacy.toFixed(1)} µs`,
        value: 1e6 / sdk.modern,
        unit: 'calls/s',
        baseline: {name: 'the same SDK, 2025-11-25', value: 1e6 / sdk.legacy},
        ratio: sdk.legacy / sdk.modern,
      },
    ]
  } finally {
    cleanup()
  }
}
