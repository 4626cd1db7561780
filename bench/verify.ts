/** Key verification throughput (valid keys, one core) with 100, 10,000 and 100,000 keys in the vault. */
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {displayStart, formatKey, hashSecret, newKeyId, newSecret} from '../src/keys/format.js'
import {KeyIndex} from '../src/keys/index.js'
import type {KeyRecord} from '../src/keys/record.js'
import {createKeyFile, createVault, openVault, updateVault} from '../src/vault/index.js'
import type {Row} from './util.js'

const SAMPLE = 1000

async function throughput(count: number, dir: string): Promise<number> {
  const file = path.join(dir, `keys-${count}.json`)
  const material = await createKeyFile(path.join(dir, `keys-${count}.key`))
  await createVault(file, [material], {force: false})
  const keys: string[] = []
  const created = new Date().toISOString()
  await updateVault(file, material, (vault) => {
    for (let i = 0; i < count; i++) {
      const id = newKeyId()
      const secret = newSecret()
      const record: KeyRecord = {id, name: `key-${i}`, prefix: 'kw', secret: {hash: hashSecret(secret), start: displayStart('kw', id, secret), created}, scopes: ['*'], created}
      vault.data.keys.set(id, record)
      if (keys.length < SAMPLE) keys.push(formatKey('kw', id, secret))
    }
  })
  // Verified the way the server does: from an index built over the vault as loaded from disk.
  const index = KeyIndex.fromVault((await openVault(file, material)).data)
  for (const k of keys) if (index.verify(k).code !== 'valid') throw new Error('benchmark key did not verify')
  let done = 0
  const start = process.hrtime.bigint()
  let elapsed = 0
  while (elapsed < 1.5e9) {
    for (let i = 0; i < 10_000; i++) index.verify(keys[(i * 7919) % keys.length])
    done += 10_000
    elapsed = Number(process.hrtime.bigint() - start)
  }
  return done / (elapsed / 1e9)
}

export async function benchVerify(): Promise<Row[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keyward-bench-'))
  try {
    const results: [number, number][] = []
    for (const count of [100, 10_000, 100_000]) results.push([count, await throughput(count, dir)])
    const small = results[0][1]
    return results.map(([count, rate]) => ({
      group: 'key verification (valid keys, one core)',
      metric: `${count.toLocaleString('en')} keys in the vault`,
      value: rate,
      unit: 'verifications/s',
      ...(count === 100
        ? {target: '>= 100,000/s', pass: rate >= 100_000}
        : {baseline: {name: '100 keys', value: small}, ratio: rate / small, target: count === 100_000 ? '>= 100,000/s, within 20% of 100 keys' : '>= 100,000/s', pass: rate >= 100_000 && (count !== 100_000 || rate >= 0.8 * small)}),
    }))
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}
