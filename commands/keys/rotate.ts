import {Args, Flags} from '@oclif/core'

import {KeywardCommand} from '../../src/cli/base.js'
import {showKeyOnce} from '../../src/cli/keys.js'
import {openSession} from '../../src/cli/session.js'
import {parseDuration, rotateKey, viewKey} from '../../src/keys/index.js'
import {updateVault} from '../../src/vault/index.js'

export default class KeysRotate extends KeywardCommand {
  static override summary = 'Issue a new secret for an API key; the old one ends now or after --grace.'
  static override description = `The key keeps its id, name, scopes and limits; only its secret changes. The new key is shown once. With --grace, the old key stays valid for that long (never past the key's own expiry), so clients can switch over; without it, the old key stops working at once.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> ci-bot',
    '<%= config.bin %> <%= command.id %> ci-bot --grace 24h',
    '<%= config.bin %> <%= command.id %> ci-bot --grace 7d --json',
  ]

  static override args = {key: Args.string({description: 'Key id or name.', required: true})}
  static override flags = {grace: Flags.string({description: 'How long the old key stays valid: 0, 90s, 15m, 24h, 7d.', default: '0'})}
  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(KeysRotate)
    const graceMs = parseDuration(flags.grace, '--grace')
    const session = await openSession(flags)
    const {key, record} = await updateVault(session.file, session.material, (vault) => rotateKey(vault.data, args.key, graceMs))
    const view = viewKey(record)
    showKeyOnce(key, this.jsonEnabled())
    if (!this.jsonEnabled()) {
      const old = graceMs > 0 ? view.graceSecrets?.at(-1) : undefined
      process.stderr.write(`Rotated API key ${view.name} (${view.id}). ${old ? `The old key stays valid until ${old.validUntil}.` : 'The old key no longer works.'}\n`)
    }
    return {key, record: view}
  }
}
