/** The rollback ledger as openVault uses it: a rollback is refused, a new generation recorded, a known one not rewritten. */
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {GenerationLedger, openVault} from '../../../src/vault/index.js'
import {parseEnvelope} from '../../../src/vault/format.js'
import {assertFails, keyFileMaterial, savedVault} from './helpers.js'

describe('vault: the rollback ledger on open', () => {
  let dir: string
  let ledger: GenerationLedger
  let file: string
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'keyward-ledger-'))
    ledger = new GenerationLedger(path.join(dir, 'state', 'generations.json'))
    file = path.join(dir, 'vault.json')
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('records a generation not seen yet, and refuses an older copy after it', async () => {
    const {material, bytes} = await savedVault(keyFileMaterial())
    writeFileSync(file, bytes)
    const vault = await openVault(file, material, {ledger})
    assert.equal(ledger.snapshot().seen(vault.header.vault_id)?.generation, 1)
    // generation 2 on disk, then the generation-1 copy put back
    writeFileSync(file, vault.serialize())
    await openVault(file, material, {ledger})
    assert.equal(ledger.snapshot().seen(vault.header.vault_id)?.generation, 2)
    writeFileSync(file, bytes)
    await assertFails(() => openVault(file, material, {ledger}), 'VAULT_ROLLED_BACK', /generation 1, but generation 2 of it was seen/)
  })

  it('leaves the ledger file alone when it holds the generation opened already', async () => {
    const {material, bytes} = await savedVault(keyFileMaterial())
    writeFileSync(file, bytes)
    await openVault(file, material, {ledger})
    const before = readFileSync(ledger.file, 'utf8')
    const {ino} = statSync(ledger.file)
    await openVault(file, material, {ledger})
    assert.equal(readFileSync(ledger.file, 'utf8'), before)
    assert.equal(statSync(ledger.file).ino, ino, 'not replaced')
  })

  it('holds: the generation seen or any before it, for that vault only', async () => {
    const {material, bytes} = await savedVault(keyFileMaterial())
    writeFileSync(file, bytes)
    const id = parseEnvelope(bytes, file).vault_id
    assert.equal(ledger.snapshot().holds(id, 0), false)
    await openVault(file, material, {ledger})
    const seen = ledger.snapshot()
    assert.equal(seen.holds(id, 0), true)
    assert.equal(seen.holds(id, 1), true)
    assert.equal(seen.holds(id, 2), false)
    assert.equal(seen.holds('another-vault', 0), false)
  })
})
