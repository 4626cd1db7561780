import {Flags} from '@oclif/core'

import {optionalPositional, positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {confirmed} from '../../src/cli/input.js'
import {approveShown, diffLines, findingLines} from '../../src/cli/pins.js'
import {openSession} from '../../src/cli/session.js'
import {KeywardError} from '../../src/errors/index.js'
import {checkUpstreamName, findUpstream} from '../../src/upstreams/index.js'
import {pinsFor} from '../../src/upstreams/pin-store.js'
import {diffPins, matchesSelector} from '../../src/upstreams/pins.js'
import {scanDefinition} from '../../src/upstreams/scan.js'

export default class UpstreamApprove extends KeywardCommand {
  static override summary = "Approve an upstream's changed definitions: pin what it offers now, so that clients see it."
  static override description = `Pins the changes \`keyward upstream diff\` shows (all of them, or the tools named; \`prompt:NAME\` or \`template:NAME\` for the others) and forgets the pins of items the upstream no longer offers. Runs the description scanner on what it approves, and shows the changes and any findings before asking (--yes to skip the question). A running keyward serve, and every replica on Redis, serves the approved items within a second.

If the upstream changed again after the diff was shown, nothing is approved: look again.`
  static override examples = [
    {description: 'Review and approve everything', command: '<%= config.bin %> <%= command.id %> github'},
    {description: 'Approve two tools, without the question', command: '<%= config.bin %> <%= command.id %> github create_issue list_issues --yes'},
  ]

  static override strict = false
  static override usage = '<%= command.id %> NAME [TOOL...]'
  static override args = {name: positional('Upstream name.'), tool: optionalPositional('A tool to approve (prompt:NAME, template:NAME for the others); more may follow. Default: every change.')}
  static override flags = {yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation.'})}
  static override enableJsonFlag = true

  async run() {
    const {args, argv, flags} = await this.parse(UpstreamApprove)
    const name = args.name
    const selectors = (argv as string[]).slice(1)
    checkUpstreamName(name)
    const session = await openSession(flags)
    findUpstream(session.vault.data, name)
    const shown = pinsFor(session.vault.data, name)
    const chosen = diffPins(shown).filter((d) => selectors.length === 0 || selectors.some((s) => matchesSelector(s, d.kind, d.name)))
    if (chosen.length === 0) {
      if (selectors.length > 0) throw new KeywardError('NOT_FOUND', `nothing of ${name} named ${selectors.join(', ')} awaits approval; see \`keyward upstream diff ${name}\``)
      this.log(`Nothing of ${name} awaits approval.`)
      return {upstream: name, approved: [], dropped: [], findings: []}
    }
    const findings = chosen.flatMap((d) => (d.change === 'removed' ? [] : scanDefinition(d.kind, {...shown!.pending[`${d.kind}:${d.name}`].definition, name: d.name})))
    if (!this.jsonEnabled()) {
      for (const line of diffLines(chosen)) this.log(line)
      if (findings.length > 0) for (const line of [`The scanner found ${findings.length} thing(s) in what you are approving:`, ...findingLines(findings)]) this.log(line)
    }
    if (!(await confirmed(flags.yes, `Approve ${chosen.length} change(s) of ${name}${findings.length > 0 ? ', despite the scanner findings' : ''}?`))) throw new KeywardError('CANCELLED', 'cancelled; nothing was changed')
    const approval = await approveShown(session, name, shown, chosen)
    this.log(`Approved ${approval.pinned.length} definition(s) of ${name}${approval.dropped.length > 0 ? ` and forgot ${approval.dropped.length} that it no longer offers` : ''}; a running keyward serve serves them within a second.`)
    return {upstream: name, approved: approval.pinned, dropped: approval.dropped, findings}
  }
}
