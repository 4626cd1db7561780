import {KeywardCommand} from '../../src/cli/base.js'
import {canPrompt} from '../../src/cli/prompt.js'
import {openSession} from '../../src/cli/session.js'
import {readStdin} from '../../src/cli/stdin.js'
import {KeywardError} from '../../src/errors/index.js'
import {KeyIndex, VERIFY_ERROR, viewKey} from '../../src/keys/index.js'

export default class KeysVerify extends KeywardCommand {
  static override summary = 'Check an API key read from stdin: which key it is, its status and scopes.'
  static override description = `The key is read from stdin (or a hidden prompt on a terminal), never from the command line. Exit codes: 0 valid, 20 malformed (bad format or checksum), 21 not found, 22 revoked, 23 expired, 24 not yet valid.

Under --json every outcome is a verdict, as Unkey's verify gives one: {"valid": false, "code": "revoked", "key": {"id", "name", "status"}, "error": {"code", "message"}}, with the same exit code; "key" is there whenever the key is known.`
  static override examples = [
    'printenv KEYWARD_API_KEY | <%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> < agent.key',
    '<%= config.bin %> <%= command.id %> --json < agent.key',
  ]

  static override enableJsonFlag = true

  async run() {
    const {flags} = await this.parse(KeysVerify)
    const session = await openSession(flags)
    const presented = await readKey()
    if (presented === '') throw new KeywardError('INPUT_REQUIRED', 'no key given: pipe it on stdin, e.g. `keyward keys verify < agent.key`')
    const result = KeyIndex.fromVault(session.vault.data).verify(presented)
    if (result.code !== 'valid') {
      const which = result.key ? `API key ${result.key.name} (${result.key.id})` : 'the key'
      const detail = {
        malformed: 'is malformed: not a keyward key, or mistyped (its checksum does not match)',
        not_found: 'matches no key in this vault',
        revoked: `was revoked${result.key?.revoked ? ` at ${result.key.revoked.at}${result.key.revoked.reason ? ` (${result.key.revoked.reason})` : ''}` : ''}`,
        expired: `expired at ${result.key?.expires}`,
        not_yet_valid: `is not valid before ${result.key?.notBefore}`,
      }[result.code]
      const error = new KeywardError(VERIFY_ERROR[result.code], `${which} ${detail}`)
      if (!this.jsonEnabled()) throw error
      // A verdict, not a failure of the command: as Unkey's verify, it names the key when it is known.
      process.exitCode = error.exit
      const key = result.key ? {id: result.key.id, name: result.key.name, status: viewKey(result.key).status} : undefined
      return {valid: false, code: result.code, ...(key ? {key} : {}), error: {code: error.code, message: error.message}}
    }
    const view = viewKey(result.key!)
    this.log(`valid: API key ${view.name} (${view.id}), scopes: ${view.scopes.join(' ')}`)
    return {valid: true, code: result.code, key: view}
  }
}

async function readKey(): Promise<string> {
  if (canPrompt()) {
    const {askSecret} = await import('../../src/cli/prompt.js')
    return (await askSecret('API key to verify (hidden):', 'pipe it on stdin')).trim()
  }
  return (await readStdin(4096)).toString('utf8').trim()
}
