import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {openSession} from '../../src/cli/session.js'
import {viewUpstream} from '../../src/cli/upstreams.js'
import {KeywardError} from '../../src/errors/index.js'
import {findUpstream, isOAuthUpstream} from '../../src/upstreams/index.js'
import {oauthStateOf, removeOAuthState} from '../../src/upstreams/oauth/index.js'
import {stderrLine} from '../../src/cli/output.js'

export default class UpstreamLogout extends KeywardCommand {
  static override summary = "Sign out of an upstream that takes OAuth: revoke its tokens where the server supports it (RFC 7009), and remove them from the vault."
  static override description = 'The tokens are removed whatever the revocation does; the output says whether the server revoked them. A running keyward serve stops using them within a second, and the upstream needs a new `keyward upstream login`.'
  static override examples = ['<%= config.bin %> <%= command.id %> linear', '<%= config.bin %> <%= command.id %> linear --json']
  static override args = {name: positional('Upstream name.')}
  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(UpstreamLogout)
    const session = await openSession(flags)
    const def = findUpstream(session.vault.data, args.name)
    if (!isOAuthUpstream(def)) throw new KeywardError('INVALID_INPUT', `upstream ${def.name} does not take OAuth; there is nothing to sign out of`)
    const state = oauthStateOf(session.vault.data, def.name)
    if (!state?.tokens) {
      await session.update((vault) => void removeOAuthState(vault.data, def.name))
      this.log(`${def.name} was not signed in; nothing to revoke.`)
      return {upstream: def.name, revocation: 'none'}
    }
    const {revokeTokens} = await import('../../src/upstreams/oauth/revoke.js')
    const revocation = await revokeTokens(def, state, session.vault.data)
    await session.update((vault) => void removeOAuthState(vault.data, def.name))
    await session.audit({event: 'upstream.logout', upstream: def.name, revocation: revocation.outcome, ...(revocation.outcome === 'failed' ? {reason: revocation.why} : {})})
    const said =
      revocation.outcome === 'revoked'
        ? 'the server revoked its tokens'
        : revocation.outcome === 'unsupported'
          ? 'the server offers no revocation endpoint, so its tokens stay valid there until they expire'
          : `revoking failed (${revocation.why}), so its tokens may stay valid there until they expire`
    if (revocation.outcome === 'failed') stderrLine(`warning: ${def.name}: ${said}`)
    this.log(`Signed out of ${def.name}: ${said}; the vault no longer holds them.`)
    return {upstream: def.name, revocation: revocation.outcome, ...(revocation.outcome === 'failed' ? {reason: revocation.why} : {}), oauth: viewUpstream(def).oauth}
  }
}
