/** Vault: unlock (KDF), open and save of a 10,000-secret vault, and `secrets list` against `node -e 0`. */
import {randomBytes} from 'node:crypto'
import {acquireWriteLock, replaceFile} from '../src/vault/file.js'
import {argon2id, DEFAULT_ARGON2ID} from '../src/vault/kdf.js'
import {loadKeyFile, openVault, updateVault} from '../src/vault/index.js'
import {BIN, env, median, tempVault, timeAsyncMs, wallMs, type Row} from './util.js'

export async function benchVault(): Promise<Row[]> {
  const {file, keyFile, material, cleanup} = await tempVault()
  try {
    const now = new Date().toISOString()
    await updateVault(file, material, (vault) => {
      for (let i = 0; i < 10_000; i++) {
        vault.data.secrets.set(`SECRET_${i}`, {value: Buffer.from(randomBytes(30).toString('base64')), description: `secret number ${i}`, created: now, updated: now})
      }
    })

    const kdf: number[] = []
    for (let i = 0; i < 5; i++) kdf.push(await timeAsyncMs(() => argon2id('a benchmark passphrase', randomBytes(16), DEFAULT_ARGON2ID, file)))

    const keyMaterial = await loadKeyFile(keyFile)
    const opens: number[] = []
    for (let i = 0; i < 20; i++) opens.push(await timeAsyncMs(() => openVault(file, keyMaterial)))

    const vault = await openVault(file, keyMaterial)
    const saves: number[] = []
    for (let i = 0; i < 20; i++) {
      saves.push(
        await timeAsyncMs(async () => {
          const lock = await acquireWriteLock(file)
          try {
            await replaceFile(file, vault.serialize(), () => lock.assertHeld())
          } finally {
            await lock.release()
          }
        }),
      )
    }

    const baseline: number[] = []
    const list: number[] = []
    const listEnv = env({KEYWARD_VAULT: file, KEYWARD_KEY_FILE: keyFile})
    wallMs(process.execPath, [BIN, 'secrets', 'list'], listEnv) // warm the disk cache
    for (let i = 0; i < 21; i++) {
      baseline.push(wallMs(process.execPath, ['-e', '0']))
      list.push(wallMs(process.execPath, [BIN, 'secrets', 'list'], listEnv))
    }
    const kdfParams = `argon2id m=${DEFAULT_ARGON2ID.memory_kib / 1024} MiB t=${DEFAULT_ARGON2ID.iterations} p=${DEFAULT_ARGON2ID.parallelism}`
    const listMs = median(list)
    const nodeMs = median(baseline)
    const openMs = median(opens)
    const saveMs = median(saves)
    return [
      {group: 'vault (10,000 secrets)', metric: `unlock KDF (${kdfParams})`, value: median(kdf), unit: 'ms'},
      {group: 'vault (10,000 secrets)', metric: 'open + decrypt, key file (no KDF)', value: openMs, unit: 'ms', target: '< 100 ms', pass: openMs < 100},
      {group: 'vault (10,000 secrets)', metric: 'save: lock, encrypt, write, fsync, rename', value: saveMs, unit: 'ms', target: '< 200 ms', pass: saveMs < 200},
      {
        group: 'vault (10,000 secrets)',
        metric: '`keyward secrets list` wall time, key file (median of 21, interleaved)',
        value: listMs,
        unit: 'ms',
        baseline: {name: '`node -e 0`', value: nodeMs},
        ratio: listMs / nodeMs,
        target: '< 3x node -e 0',
        pass: listMs / nodeMs < 3,
      },
    ]
  } finally {
    cleanup()
  }
}
