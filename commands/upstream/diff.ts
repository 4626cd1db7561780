import {Flags} from '@oclif/core'

import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {diffLines, lookLines, probeFor, recordLook} from '../../src/cli/pins.js'
import {openSession} from '../../src/cli/session.js'
import {findUpstream} from '../../src/upstreams/index.js'
import {pinsFor} from '../../src/upstreams/pin-store.js'
import {diffPins} from '../../src/upstreams/pins.js'

export default class UpstreamDiff extends KeywardCommand {
  static override summary = "Show what changed in an upstream's definitions since they were pinned, field by field."
  static override description = `Shows what keyward serve (or \`upstream test\`) recorded: each changed, new, renamed or removed tool, prompt and resource template, with every field that differs, before and after. Text the upstream wrote is shown escaped: invisible and control characters appear as \\u{...}. --live starts the upstream first and records what it offers now.

Approve with \`keyward upstream approve NAME [TOOL...]\`.`
  static override examples = ['<%= config.bin %> <%= command.id %> github', '<%= config.bin %> <%= command.id %> github --live', '<%= config.bin %> <%= command.id %> github --json']
  static override args = {name: positional('Upstream name.')}
  static override flags = {live: Flags.boolean({description: 'Start the upstream first and record what it offers now.'})}
  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(UpstreamDiff)
    const session = await openSession(flags)
    const def = findUpstream(session.vault.data, args.name)
    let state = pinsFor(session.vault.data, def.name)
    if (flags.live) {
      const probe = await probeFor(session, def, {timeoutMs: 60_000, version: this.config.version})
      const look = await recordLook(session, def.name, probe.listing)
      state = look.review.state
      if (!this.jsonEnabled() && look.review.firstUse) for (const line of lookLines(def.name, look)) this.log(line)
    }
    const changes = diffPins(state)
    if (!this.jsonEnabled()) {
      if (!state) this.log(`Nothing of ${def.name} is pinned yet; \`keyward upstream diff ${def.name} --live\` starts it and pins what it offers.`)
      else if (changes.length === 0) this.log(`No changes: ${def.name} offers what was pinned${flags.live ? '' : ' (as last seen; --live to look now)'}.`)
      else for (const line of diffLines(changes)) this.log(line)
    }
    return {upstream: def.name, changes}
  }
}
