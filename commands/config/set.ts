import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {openSession} from '../../src/cli/session.js'
import {checkSetting, setConfig} from '../../src/config/index.js'

export default class ConfigSet extends KeywardCommand {
  static override summary = 'Set a server setting in the vault; keyward serve applies it at start and on reload.'
  static override description = `Keys are checked when set; a bad value is refused with the reason, and the vault is left as it was (exit 2). A credential is never a value: store it with \`keyward secrets set NAME\` and give secret:NAME. \`keyward config list --all\` lists every key.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> auth.methods api-key,oauth2',
    '<%= config.bin %> <%= command.id %> oauth.issuer https://auth.example.com',
    '<%= config.bin %> <%= command.id %> oauth.client-secret secret:INTROSPECTION_SECRET',
    '<%= config.bin %> <%= command.id %> oauth.scope-map.repo:read "github__get_*,github__list_*"',
    '<%= config.bin %> <%= command.id %> audit.keep 30d',
  ]

  static override args = {key: positional('Setting key, such as oauth.issuer.'), value: positional('Its value.')}
  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(ConfigSet)
    checkSetting(args.key, args.value) // before unlocking: a typo fails fast
    const session = await openSession(flags)
    const {result, written} = await session.updateDetailed((vault) => setConfig(vault.data, args.key, args.value))
    // The value is recorded: settings are not secrets (a secret is referred to as secret:NAME).
    if (written) await session.audit({event: 'config.set', setting: args.key, value: result.after})
    this.log(written ? `${args.key} = ${result.after}${result.before !== undefined ? ` (was ${result.before})` : ''}` : `${args.key} is ${result.after} already`)
    return {key: args.key, value: result.after, previous: result.before ?? null, changed: written}
  }
}
