import {Flags} from '@oclif/core'

import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {openSession} from '../../src/cli/session.js'
import {oauthSummary, viewUpstream} from '../../src/cli/upstreams.js'
import {KeywardError} from '../../src/errors/index.js'
import {parseDuration} from '../../src/keys/index.js'
import {findUpstream, isOAuthUpstream, upstreamsOf} from '../../src/upstreams/index.js'
import {checkScope, keepsSignIn, setOAuthState} from '../../src/upstreams/oauth/index.js'
import {stderrLine} from '../../src/cli/output.js'

export default class UpstreamLogin extends KeywardCommand {
  static override summary = 'Sign in to an upstream that takes OAuth, once; keyward keeps the tokens in the vault and renews them for every client.'
  static override description = `Authorization code with PKCE (S256), the resource indicator (RFC 8707) and a state check: the authorization URL opens in the browser named by $BROWSER, or the platform's opener (--no-browser only prints it), and the browser comes back to a listener on 127.0.0.1 (a port the system picks), so sign in on this machine (over SSH, forward the port the URL names). The tokens are stored encrypted in the vault, never printed; a running keyward serve picks them up within a second.

A client_credentials upstream needs no person: this fetches a token now, which checks the client's secret or key.

The scope asked for: --scope, else the wider scope the upstream last asked for (after a 403 insufficient_scope), else the upstream's --scope, else what the server's challenge or its scopes_supported say.`

  static override examples = [
    {description: 'Sign in (opens a browser)', command: '<%= config.bin %> <%= command.id %> linear'},
    {description: 'Print the URL instead, for a browser elsewhere on this machine', command: '<%= config.bin %> <%= command.id %> linear --no-browser'},
    {description: 'Ask for more scopes than before', command: `<%= config.bin %> <%= command.id %> github --scope 'repo read:org'`},
    {description: 'A browser program of your own', command: 'BROWSER=firefox <%= config.bin %> <%= command.id %> linear'},
  ]

  static override args = {name: positional('Upstream name.')}
  static override flags = {
    scope: Flags.string({description: "Scopes to ask for, space-separated ('read write')."}),
    'no-browser': Flags.boolean({description: 'Only print the authorization URL; do not open a browser.'}),
    timeout: Flags.string({description: 'How long to wait for the browser to come back.', default: '5m'}),
  }

  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(UpstreamLogin)
    const timeoutMs = parseDuration(flags.timeout, '--timeout')
    const scope = flags.scope === undefined ? undefined : checkScope('scope', flags.scope)
    const session = await openSession(flags)
    const def = findUpstream(session.vault.data, args.name)
    if (!isOAuthUpstream(def)) throw new KeywardError('INVALID_INPUT', `upstream ${def.name} does not take OAuth; add it with --url URL --oauth (see \`keyward upstream add --help\`)`)
    const [{login}, {openUrl}] = await Promise.all([import('../../src/upstreams/oauth/login.js'), import('../../src/cli/browser.js')])
    const open = async (url: URL) => {
      const text = url.toString()
      if (flags['no-browser']) {
        process.stderr.write(`Open this URL in a browser on this machine to sign in to ${def.name}:\n\n  ${text}\n\nWaiting for the browser to come back…\n`)
        return
      }
      const opened = await openUrl(text)
      process.stderr.write(opened ? `Opening a browser to sign in to ${def.name}; if none appears, open:\n\n  ${text}\n\n` : `Could not start a browser (set $BROWSER); open this URL on this machine to sign in to ${def.name}:\n\n  ${text}\n\n`)
    }
    const note = (message: string) => stderrLine(`note: ${message}`)
    const {state, requested} = await login({def, data: session.vault.data, scope, timeoutMs, open, note})
    let after = session.vault.data
    await session.update((vault) => {
      // The browser may take minutes: tokens obtained for this definition are not kept for one that replaced it since (another URL or client), nor for none.
      const now = upstreamsOf(vault.data).get(def.name)
      if (!now || !keepsSignIn(def, now)) throw new KeywardError('LOGIN_FAILED', `upstream ${def.name} was ${now ? 'changed' : 'removed'} while signing in; the tokens were not kept (they are for what it was), run the login again`)
      setOAuthState(vault.data, def.name, state)
      after = vault.data
    })
    await session.audit({event: 'upstream.login', upstream: def.name, grant: def.oauth.grant, issuer: state.tokens?.issuer, scope: state.tokens?.scope ?? requested, ...(state.signedInAs ? {as: state.signedInAs} : {})})
    const view = viewUpstream(def, after)
    this.log(`Signed in to ${def.name} ${oauthSummary(view.oauth!)}${state.tokens?.scope ? ` (scopes: ${state.tokens.scope})` : ''}. keyward serve uses and renews the tokens; they are never shown.`)
    return {upstream: view}
  }
}

