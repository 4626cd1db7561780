import {Flags} from '@oclif/core'

import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {readSecretValue} from '../../src/cli/input.js'
import {openSession} from '../../src/cli/session.js'
import {checkSecretName, setSecret} from '../../src/secrets/index.js'

export default class SecretsSet extends KeywardCommand {
  static override summary = 'Store a secret (create or replace).'
  static override description = `The value is read from a hidden prompt on a terminal, from piped stdin, or from --from-file; never from the command line, where it would show in ps and shell history.

Values are bytes and are stored exactly as given, binary included, up to 1 MiB. One exception: a value piped on stdin that is one line of text loses its line ending (the one echo and printenv add); --raw keeps it. --from-file is always byte for byte.

Names: a letter, then letters, digits, _ . or - (at most 128 characters).`

  static override examples = [
    {description: 'Type the value at a hidden prompt', command: '<%= config.bin %> <%= command.id %> GITHUB_TOKEN'},
    {description: 'Pipe it in', command: 'printenv GITHUB_TOKEN | <%= config.bin %> <%= command.id %> GITHUB_TOKEN --description "repo read token"'},
    {description: 'A binary file, byte for byte', command: '<%= config.bin %> <%= command.id %> TLS_KEY_DER --from-file ./server.key.der'},
  ]

  static override args = {name: positional('Secret name.')}
  static override flags = {
    'from-file': Flags.string({description: 'Read the value from this file, byte for byte.'}),
    raw: Flags.boolean({description: 'Keep the line ending of a one-line value piped on stdin.'}),
    description: Flags.string({description: 'What the secret is for (stored encrypted with it).'}),
  }

  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(SecretsSet)
    checkSecretName(args.name)
    const session = await openSession(flags)
    const value = await readSecretValue(args.name, {fromFile: flags['from-file'], raw: flags.raw})
    const {created, secret} = await session.update((vault) => setSecret(vault.data, args.name, value, flags.description))
    await session.audit({event: 'secret.set', secret: args.name, created})
    this.log(`${created ? 'Stored' : 'Replaced'} secret ${secret.name} (${value.length} bytes) in ${session.file}`)
    return {created, secret, bytes: value.length}
  }
}
