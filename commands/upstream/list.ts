import {KeywardCommand} from '../../src/cli/base.js'
import {openSession} from '../../src/cli/session.js'
import {untestedHint, upstreamsTable, viewUpstream} from '../../src/cli/upstreams.js'
import {listUpstreams} from '../../src/upstreams/index.js'

export default class UpstreamList extends KeywardCommand {
  static override summary = 'List the upstream MCP servers: name, the MCP revision each speaks (as `upstream test` or `add` last found), command or URL, the secrets they refer to, OAuth sign-in state; never a secret value or a token.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']
  static override enableJsonFlag = true

  async run() {
    const {flags} = await this.parse(UpstreamList)
    const {vault} = await openSession(flags)
    const upstreams = listUpstreams(vault.data).map((d) => viewUpstream(d, vault.data))
    if (!this.jsonEnabled()) {
      if (upstreams.length === 0) this.log('No upstreams yet. Add one: keyward upstream add NAME -- COMMAND [ARGS...]')
      else {
        this.log(upstreamsTable(upstreams))
        const hint = untestedHint(upstreams)
        if (hint) this.log(hint)
      }
    }
    return {upstreams}
  }
}
