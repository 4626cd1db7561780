import {Args, Flags} from '@oclif/core'

import {KeywardCommand} from '../../src/cli/base.js'
import {readSecretValue} from '../../src/cli/input.js'
import {openSession} from '../../src/cli/session.js'
import {checkSecretName, setSecret} from '../../src/secrets/index.js'
import {updateVault} from '../../src/vault/index.js'

export default class SecretsSet extends KeywardCommand {
  static override summary = 'Store a secret (create or replace).'
  static override description = `The value is read from a hidden prompt on a terminal, from piped stdin, or from --from-file; never from the command line, where it would show in ps and shell history. One trailing newline is dropped.

Names: a letter, then letters, digits, _ . or - (at most 128 characters).`

  static override examples = [
    {description: 'Type the value at a hidden prompt', command: '<%= config.bin %> <%= command.id %> GITHUB_TOKEN'},
    {description: 'Pipe it in', command: 'printenv GITHUB_TOKEN | <%= config.bin %> <%= command.id %> GITHUB_TOKEN --description "repo read token"'},
    {description: 'Read it from a file', command: '<%= config.bin %> <%= command.id %> DB_PASSWORD --from-file ./db-password.txt'},
  ]

  static override args = {name: Args.string({description: 'Secret name.', required: true})}
  static override flags = {
    'from-file': Flags.string({description: 'Read the value from this file.'}),
    description: Flags.string({description: 'What the secret is for (stored encrypted with it).'}),
  }

  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(SecretsSet)
    checkSecretName(args.name)
    const session = await openSession(flags)
    const value = await readSecretValue(args.name, flags['from-file'])
    const {created, secret} = await updateVault(session.file, session.material, (vault) => setSecret(vault.data, args.name, value, flags.description))
    this.log(`${created ? 'Stored' : 'Replaced'} secret ${secret.name} in ${session.file}`)
    return {created, secret}
  }
}
