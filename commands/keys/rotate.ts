import {Flags} from '@oclif/core'

import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {keyOnce} from '../../src/cli/keys.js'
import {openSession} from '../../src/cli/session.js'
import {parseDuration, rotateKey, undoRotation, viewKey} from '../../src/keys/index.js'

export default class KeysRotate extends KeywardCommand {
  static override summary = 'Issue a new secret for an API key; the old one ends now or after --grace.'
  static override description = `The key keeps its id, name, scopes and limits; only its secret changes. The new key is shown once; if it cannot be shown (stdout fails), the rotation is undone. With --grace, the old key stays valid for that long (never past the key's own expiry), so clients can switch over; without it, the old key stops working at once.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> ci-bot',
    '<%= config.bin %> <%= command.id %> ci-bot --grace 24h',
    '<%= config.bin %> <%= command.id %> ci-bot --grace 7d --json',
  ]

  static override args = {key: positional('Key id or name.')}
  static override flags = {grace: Flags.string({description: 'How long the old key stays valid: 0, 90s, 15m, 24h, 7d.', default: '0'})}
  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(KeysRotate)
    const graceMs = parseDuration(flags.grace, '--grace')
    const session = await openSession(flags)
    const {key, record, replaced} = await session.update((vault) => rotateKey(vault.data, args.key, graceMs))
    const view = viewKey(record)
    // Undone: the old secret only; a revocation or scope change another command made meanwhile stays.
    await this.deliver(keyOnce(key, this.jsonEnabled(), {key, record: view}), () => session.update((vault) => void undoRotation(vault.data, record.id, record.secret, replaced)))
    await session.audit({event: 'key.rotate', key: view.id, name: view.name, grace_seconds: graceMs / 1000})
    if (!this.jsonEnabled()) {
      const old = graceMs > 0 ? view.graceSecrets?.at(-1) : undefined
      process.stderr.write(`Rotated API key ${view.name} (${view.id}). ${old ? `The old key stays valid until ${old.validUntil}.` : 'The old key no longer works.'}\n`)
    }
  }
}
