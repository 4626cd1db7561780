import {Flags} from '@oclif/core'

import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {findingLines, probeFor, recordLook} from '../../src/cli/pins.js'
import {openSession} from '../../src/cli/session.js'
import {EXIT_CODES} from '../../src/errors/index.js'
import {findUpstream} from '../../src/upstreams/index.js'
import {pinsFor} from '../../src/upstreams/pin-store.js'
import type {Definition, PinKind} from '../../src/upstreams/pins.js'
import {SCAN_RULES, scanDefinition, type Finding} from '../../src/upstreams/scan.js'

export default class UpstreamScan extends KeywardCommand {
  static override summary = "Scan an upstream's tool, prompt and resource-template definitions for text aimed at the model: poisoned descriptions."
  static override description = `Each finding names the item, the field (a description, a title, a schema property's name, description or default) and the rule:

${Object.entries(SCAN_RULES)
  .map(([rule, what]) => `  ${rule}: ${what}`)
  .join('\n')}

Invisible and control characters are shown escaped (\\u{200B}), never raw. By default it scans what keyward has recorded (what clients are served, and what awaits approval); --live starts the upstream and scans what it offers now (and records it, as \`upstream test\` does). The scanner also runs in \`upstream add\`, \`test\` and \`approve\`; with \`keyward config set scan.on-finding block\`, an item it flags the first time it is seen is held back until approved.

Exit code: 0 when nothing was found, 41 when something was.`
  static override examples = ['<%= config.bin %> <%= command.id %> github', '<%= config.bin %> <%= command.id %> github --live --json']
  static override args = {name: positional('Upstream name.')}
  static override flags = {live: Flags.boolean({description: 'Start the upstream and scan what it offers now.'})}
  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(UpstreamScan)
    const session = await openSession(flags)
    const def = findUpstream(session.vault.data, args.name)
    const recorded = pinsFor(session.vault.data, def.name)
    let findings: Finding[]
    let scanned: number
    if (flags.live || !recorded) {
      const probe = await probeFor(session, def, {timeoutMs: 60_000, version: this.config.version})
      findings = (await recordLook(session, def.name, probe.listing)).findings
      scanned = Object.values(probe.listing).reduce((n, defs) => n + (defs?.length ?? 0), 0)
    } else {
      const items: [PinKind, Definition][] = [...Object.values(recorded.items), ...Object.values(recorded.pending)].map((p) => [p.kind, {...p.definition, name: p.name}])
      findings = items.flatMap(([kind, d]) => scanDefinition(kind, d))
      scanned = items.length
    }
    if (!this.jsonEnabled()) {
      if (findings.length === 0) this.log(`${def.name}: ${scanned} definitions scanned, nothing found.`)
      else for (const line of [`${def.name}: ${scanned} definitions scanned, ${findings.length} finding(s):`, ...findingLines(findings)]) this.log(line)
    }
    if (findings.length > 0) process.exitCode = EXIT_CODES.SCAN_FINDINGS
    return {upstream: def.name, scanned, findings}
  }
}
