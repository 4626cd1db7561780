import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {pinsTable} from '../../src/cli/pins.js'
import {openSession} from '../../src/cli/session.js'
import {findUpstream} from '../../src/upstreams/index.js'
import {pinsFor} from '../../src/upstreams/pin-store.js'
import {pinRows} from '../../src/upstreams/pins.js'

export default class UpstreamPins extends KeywardCommand {
  static override summary = "List an upstream's pinned definitions: each tool, prompt and resource template with its hash, and what is held back."
  static override description = `Status: pinned (served), missing (pinned, but the upstream no longer offers it) or quarantined (a change, a new item, or a first-use item the scanner held back: not served until \`keyward upstream approve\`). Pins are kept in the vault, where nobody who cannot write the vault can change them.`
  static override examples = ['<%= config.bin %> <%= command.id %> github', '<%= config.bin %> <%= command.id %> github --json']
  static override args = {name: positional('Upstream name.')}
  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(UpstreamPins)
    const {vault} = await openSession(flags)
    findUpstream(vault.data, args.name)
    const state = pinsFor(vault.data, args.name)
    const pins = pinRows(state)
    if (!this.jsonEnabled()) {
      if (!state) this.log(`Nothing of ${args.name} is pinned yet: \`keyward upstream test ${args.name}\` (or serve) pins what it offers the first time it starts.`)
      else this.log(pinsTable(pins))
    }
    return {upstream: args.name, since: state?.since ?? null, pins}
  }
}
