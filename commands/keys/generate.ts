import {Flags} from '@oclif/core'

import {KeywardCommand} from '../../src/cli/base.js'
import {keyOnce} from '../../src/cli/keys.js'
import {canPrompt} from '../../src/cli/prompt.js'
import {openSession} from '../../src/cli/session.js'
import {KeywardError} from '../../src/errors/index.js'
import {checkKeyName, createKey, KEY_LINE_ROOM, keysOf, parseTime, viewKey} from '../../src/keys/index.js'
import {parseRate} from '../../src/ratelimit/rate.js'
import {expandScopes} from '../../src/policy/index.js'
import {exists, reserveNewFile} from '../../src/vault/index.js'

export default class KeysGenerate extends KeywardCommand {
  static override summary = 'Create an API key for an MCP client; the key is shown once.'
  static override description = `Scopes are tool-name patterns (get_*, github.*, !debug_*), prompt:NAME and resource:URI patterns, or a preset: full, readonly (get_* list_*), limited (hello_world echo). Access is denied unless a scope grants it; !exclusions win.

On a terminal, a missing name or scope is asked for. The key goes to stdout alone, the warning to stderr; under --json stdout is one object with the key and its record. --out writes the key to a new file (0600, never over an existing one) instead. A key that cannot be written out is removed again, so no key stays active that nobody saw.

--rate is stored with the key and shown by \`keys show\`; \`keyward serve\` does not enforce it yet.`

  static override examples = [
    {description: 'Interactive, on a terminal', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Read-only tools, expiring in 30 days', command: '<%= config.bin %> <%= command.id %> --name ci-bot --scope readonly --expires 30d'},
    {description: 'Several patterns and a rate limit', command: '<%= config.bin %> <%= command.id %> --name claude --scope "github.*" --scope "!github.delete_*" --rate 1000/min'},
    {description: 'Straight into a new private file', command: '<%= config.bin %> <%= command.id %> --name agent --scope limited --out agent.key'},
  ]

  static override flags = {
    name: Flags.string({char: 'n', description: 'Unique name for the key.'}),
    scope: Flags.string({char: 's', description: 'Scope pattern or preset; repeatable, or comma-separated.', multiple: true}),
    expires: Flags.string({description: 'Expiry: a duration from now (30d, 12h) or an ISO date.'}),
    'not-before': Flags.string({description: 'Not valid before this time (duration from now or ISO date).'}),
    rate: Flags.string({description: 'Rate limit for this key, such as 1000/min or 100/10s (a window of at most 24 days); beats ratelimit.api-key in keyward serve.'}),
    description: Flags.string({char: 'd', description: 'What the key is for.'}),
    meta: Flags.string({description: 'Free-form metadata as key=value; repeatable.', multiple: true}),
    prefix: Flags.string({description: 'Key prefix (default kw).'}),
    out: Flags.string({char: 'o', description: 'Write the key to this new file (mode 0600) instead of stdout.'}),
  }

  static override enableJsonFlag = true

  async run() {
    const {flags} = await this.parse(KeysGenerate)
    // Flags are checked before anything is asked or unlocked.
    if (flags.name) checkKeyName(flags.name)
    if (flags.scope) expandScopes(flags.scope)
    const fixed = {
      notBefore: flags['not-before'] ? parseTime(flags['not-before'], '--not-before') : undefined,
      rateLimit: flags.rate ? parseRate(flags.rate) : undefined,
      meta: parseMeta(flags.meta ?? []),
      prefix: flags.prefix,
    }
    let {name, expires, description} = flags
    if (expires) parseTime(expires, '--expires')
    let scopes = flags.scope
    if ((!name || !scopes) && !canPrompt()) {
      throw new KeywardError('INPUT_REQUIRED', `${name ? '--scope' : '--name'} is required (no terminal to ask on); see --help`)
    }
    if (flags.out && (await exists(flags.out))) {
      throw new KeywardError('ALREADY_EXISTS', `--out ${flags.out} already exists; keyward never overwrites a file: choose another path`)
    }
    const session = await openSession(flags)
    if (!name || !scopes) {
      const asked = await askMissing(name, scopes)
      name = asked.name
      scopes = asked.scopes
      if (expires === undefined) expires = (await askOptional('Expires (30d, 12h, 2027-01-31; empty for never):', (v) => parseTime(v, 'expiry'))) || undefined
      if (description === undefined) description = (await askOptional('Description (optional):')) || undefined
    }
    const options = {...fixed, name, scopes, description, expires: expires ? parseTime(expires, '--expires') : undefined}
    const out = flags.out
    // The --out file's room is taken before the vault is written, so a path that cannot be
    // written fails with the vault as it was; what is left for after is a write into that room.
    const reserved = out ? await reserveNewFile(out, KEY_LINE_ROOM, 'key output file') : undefined
    const {key, record} = await session.update((vault) => createKey(vault.data, options)).catch(async (err) => {
      await reserved?.abort()
      throw err
    })
    const view = viewKey(record)
    // A key nobody saw must not stay active: if it cannot be written out, it is removed again.
    const undo = () => session.update((vault) => keysOf(vault.data).delete(record.id))
    if (reserved) {
      try {
        await reserved.commit(Buffer.from(`${key}\n`))
      } catch (err) {
        await undo()
        throw err
      }
      await session.audit({event: 'key.generate', key: view.id, name: view.name, scopes: view.scopes})
      if (this.jsonEnabled()) return {keyFile: out, record: view}
    } else {
      await this.deliver(keyOnce(key, this.jsonEnabled(), {key, record: view}), undo)
      await session.audit({event: 'key.generate', key: view.id, name: view.name, scopes: view.scopes})
    }
    if (!this.jsonEnabled()) {
      process.stderr.write(`Created API key ${view.name} (${view.id}) with scopes: ${view.scopes.join(' ')}${out ? `; the key is in ${out} (0600)` : ''}\n`)
    }
  }
}

function parseMeta(pairs: string[]): Record<string, string> {
  const meta: Record<string, string> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq < 1) throw new KeywardError('INVALID_INPUT', `--meta ${JSON.stringify(pair)} is not key=value`)
    meta[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return meta
}

async function askMissing(name: string | undefined, scopes: string[] | undefined): Promise<{name: string; scopes: string[]}> {
  const {askCheckbox, askInput, validatorFrom} = await import('../../src/cli/prompt.js')
  const finalName = name ?? (await askInput('Key name:', {validate: validatorFrom(checkKeyName)}))
  let finalScopes = scopes
  if (!finalScopes) {
    const [{PRESETS}, {builtinTools}] = await Promise.all([import('../../src/policy/index.js'), import('../../src/server/tools/builtin/index.js')])
    const choices = [
      ...Object.entries(PRESETS).map(([preset, patterns]) => ({name: `${preset} (${patterns.join(' ')})`, value: preset})),
      ...builtinTools.map((t) => ({name: `tool ${t.name}`, value: t.name})),
    ]
    finalScopes = await askCheckbox('Scopes (space to pick, enter to confirm):', choices, (picked) => (picked.length > 0 ? true : 'pick at least one scope'))
  }
  expandScopes(finalScopes)
  return {name: finalName, scopes: finalScopes}
}

/** An optional answer: empty is accepted, anything else must pass `check`. */
async function askOptional(message: string, check: (v: string) => unknown = () => {}): Promise<string> {
  const {askInput, validatorFrom} = await import('../../src/cli/prompt.js')
  return (await askInput(message, {validate: validatorFrom(check, true)})).trim()
}
