import {Args} from '@oclif/core'

import {KeywardCommand} from '../../src/cli/base.js'
import {openSession} from '../../src/cli/session.js'
import {describeSecret, getSecretValue} from '../../src/secrets/index.js'

export default class SecretsGet extends KeywardCommand {
  static override summary = 'Print a secret value on stdout.'
  static override description = 'Prints the raw value and nothing else, so that $(keyward secrets get NAME) works; a newline is added only when stdout is a terminal.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> GITHUB_TOKEN',
    'GITHUB_TOKEN="$(<%= config.bin %> <%= command.id %> GITHUB_TOKEN)" some-tool',
    '<%= config.bin %> <%= command.id %> GITHUB_TOKEN --json',
  ]

  static override args = {name: Args.string({description: 'Secret name.', required: true})}
  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(SecretsGet)
    const {vault} = await openSession(flags)
    const value = getSecretValue(vault.data, args.name)
    if (this.jsonEnabled()) return {...describeSecret(vault.data, args.name), value}
    process.stdout.write(process.stdout.isTTY ? `${value}\n` : value)
  }
}
