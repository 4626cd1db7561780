import assert from 'node:assert/strict'
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {ROOT} from './helpers/cli.js'

async function sources(dir: string): Promise<[string, string][]> {
  const out: [string, string][] = []
  for (const entry of await fs.readdir(dir, {withFileTypes: true, recursive: true})) {
    if (entry.isFile() && entry.name.endsWith('.ts')) {
      const file = path.join(entry.parentPath ?? (entry as unknown as {path: string}).path, entry.name)
      out.push([path.relative(ROOT, file), await fs.readFile(file, 'utf8')])
    }
  }
  return out
}

describe('security rules that a reader can check in the source', () => {
  it('secret comparisons use crypto.timingSafeEqual, never === or Buffer.equals', async () => {
    const verify = await fs.readFile(path.join(ROOT, 'src/keys/verify.ts'), 'utf8')
    const slots = await fs.readFile(path.join(ROOT, 'src/vault/slots.ts'), 'utf8')
    assert.match(verify, /timingSafeEqual\(h\.hash, hash\)/, 'key hashes')
    assert.match(slots, /timingSafeEqual\(keys\.check, check\)/, 'slot check values')
    for (const [file, text] of await sources(path.join(ROOT, 'src'))) {
      assert.doesNotMatch(text, /\.equals\(/, `${file} compares buffers with .equals()`)
      assert.doesNotMatch(text, /(hash|check|secret|digest)\s*[!=]==/i, `${file} compares a secret with ===`)
    }
  })

  it('no command reads a secret from a flag value', async () => {
    for (const [file, text] of await sources(path.join(ROOT, 'commands'))) {
      assert.doesNotMatch(text, /['"](passphrase|password|secret|value|api-key|token)['"]\s*:\s*Flags\.string/, `${file} takes a secret in argv`)
    }
  })
})
