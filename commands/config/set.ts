import {Flags} from '@oclif/core'

import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {askConfirm, canPrompt} from '../../src/cli/prompt.js'
import {openSession} from '../../src/cli/session.js'
import {checkSetting, setConfig} from '../../src/config/index.js'
import {openingOf} from '../../src/config/opening.js'
import {KeywardError} from '../../src/errors/index.js'
import {stderrLine} from '../../src/cli/output.js'

export default class ConfigSet extends KeywardCommand {
  static override summary = 'Set a server setting in the vault; keyward serve applies it at start and on reload.'
  static override description = `Keys are checked when set; a bad value is refused with the reason, and the vault is left as it was (exit 2). A credential is never a value: store it with \`keyward secrets set NAME\` and give secret:NAME. \`keyward config list --all\` lists every key.

A value that opens something up needs confirmation: on a terminal you are asked, elsewhere pass --yes (without it: exit 11, nothing changed). They are auth.methods none, proxy.trusted-cidrs with a wide public network (0.0.0.0/0, ::/0, wider than /24 or /64), guard.patterns none, guard.redact false, oauth.clock-skew over 5m. What it opens is printed either way.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> auth.methods api-key,oauth2',
    '<%= config.bin %> <%= command.id %> oauth.issuer https://auth.example.com',
    '<%= config.bin %> <%= command.id %> oauth.client-secret secret:INTROSPECTION_SECRET',
    '<%= config.bin %> <%= command.id %> oauth.scope-map.repo:read "github__get_*,github__list_*"',
    '<%= config.bin %> <%= command.id %> audit.keep 30d',
    {description: 'A setting that opens something up, without a terminal', command: '<%= config.bin %> <%= command.id %> guard.redact false --yes'},
  ]

  static override args = {key: positional('Setting key, such as oauth.issuer.'), value: positional('Its value.')}
  static override flags = {yes: Flags.boolean({char: 'y', description: 'Set a value that opens something up (auth.methods none, a wide proxy.trusted-cidrs, …) without asking.'})}
  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(ConfigSet)
    const value = checkSetting(args.key, args.value) // before unlocking: a typo fails fast
    const opens = openingOf(args.key, value)
    if (opens) await confirmOpening(args.key, value, opens, flags.yes)
    const session = await openSession(flags)
    const {result, written} = await session.updateDetailed((vault) => setConfig(vault.data, args.key, args.value))
    // The value is recorded: settings are not secrets (a secret is referred to as secret:NAME).
    if (written) await session.audit({event: 'config.set', setting: args.key, value: result.after})
    this.log(written ? `${args.key} = ${result.after}${result.before !== undefined ? ` (was ${result.before})` : ''}` : `${args.key} is ${result.after} already`)
    return {key: args.key, value: result.after, previous: result.before ?? null, changed: written, opens: opens ?? null}
  }
}

/** Says what the value opens; goes on only with --yes or a yes on a terminal. */
async function confirmOpening(key: string, value: string, opens: string, yes: boolean): Promise<void> {
  const what = `config ${key} ${value} ${opens}`
  if (!yes) {
    if (!canPrompt()) throw new KeywardError('INPUT_REQUIRED', `${what}; pass --yes to set it`)
    if (!(await askConfirm(`${what}. Set it?`, 'pass --yes'))) throw new KeywardError('CANCELLED', 'cancelled; nothing was changed')
  }
  stderrLine(`warning: ${what}`)
}
