import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {writeStdout} from '../../src/cli/output.js'
import {openSession} from '../../src/cli/session.js'
import {describeSecret, getSecretValue, isUtf8Text} from '../../src/secrets/index.js'

export default class SecretsGet extends KeywardCommand {
  static override summary = 'Print a secret value on stdout.'
  static override description = `Prints the value byte for byte and nothing else, so that $(keyward secrets get NAME) works and binary values survive a redirect; a newline is added only when stdout is a terminal.

Under --json the value is "value" when it is UTF-8 text, else "valueBase64".`

  static override examples = [
    '<%= config.bin %> <%= command.id %> GITHUB_TOKEN',
    'GITHUB_TOKEN="$(<%= config.bin %> <%= command.id %> GITHUB_TOKEN)" some-tool',
    '<%= config.bin %> <%= command.id %> TLS_KEY_DER > server.key.der',
    '<%= config.bin %> <%= command.id %> GITHUB_TOKEN --json',
  ]

  static override args = {name: positional('Secret name.')}
  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(SecretsGet)
    const {vault} = await openSession(flags)
    const value = getSecretValue(vault.data, args.name)
    if (this.jsonEnabled()) {
      const info = describeSecret(vault.data, args.name)
      return isUtf8Text(value) ? {...info, value: value.toString('utf8')} : {...info, valueBase64: value.toString('base64')}
    }
    await writeStdout(process.stdout.isTTY ? Buffer.concat([value, Buffer.from('\n')]) : value)
  }
}
