import {promises as fs} from 'node:fs'

import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {keysTable} from '../../src/cli/keys.js'
import {openSession} from '../../src/cli/session.js'
import {fileError, KeywardError} from '../../src/errors/index.js'
import {importSeedKeys, viewKey, type SeedKeyFile} from '../../src/keys/index.js'

export default class KeysImport extends KeywardCommand {
  static override summary = 'Import plaintext keys from an api_keys.json file, storing only their hashes.'
  static override description = `Reads the {"api_keys": {NAME: KEY}, "key_permissions": {NAME: [PATTERN...]}} format and stores each key hashed, with its permissions as scopes. Clients keep using the same keys. All or nothing: on any problem nothing is imported. Delete the plaintext file afterwards.`
  static override examples = ['<%= config.bin %> <%= command.id %> config/api_keys.json && shred -u config/api_keys.json']
  static override args = {file: positional('Path of the api_keys.json file.')}
  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(KeysImport)
    let parsed: SeedKeyFile
    try {
      parsed = JSON.parse(await fs.readFile(args.file, 'utf8')) as SeedKeyFile
    } catch (err) {
      if (err instanceof SyntaxError) throw new KeywardError('INVALID_INPUT', `${args.file} is not valid JSON`)
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KeywardError('INVALID_INPUT', `${args.file} does not exist`)
      throw fileError(err, 'file', args.file)
    }
    if (typeof parsed !== 'object' || parsed === null) throw new KeywardError('INVALID_INPUT', `${args.file} does not hold a JSON object`)
    const session = await openSession(flags)
    const records = await session.update((vault) => importSeedKeys(vault.data, parsed))
    await session.audit({event: 'key.import', keys: records.map((r) => ({key: r.id, name: r.name}))})
    const views = records.map((r) => viewKey(r))
    this.log(`Imported ${views.length} API keys; only their hashes are stored.`)
    this.log(keysTable(views))
    if (!this.jsonEnabled()) {
      process.stderr.write(
        `Now delete the plaintext file: shred -u ${args.file} (and purge it from backups and git history).\n` +
          'Then move clients to keyward-format keys: keyward keys rotate NAME --grace 7d\n',
      )
    }
    return {imported: views, plaintextFile: args.file}
  }
}
