/**
 * An MCP client's config file as text: read as JSONC (VS Code's `mcp.json` may hold comments and
 * trailing commas) and edited in place with jsonc-parser's `modify` and `applyEdits`, so that
 * the comments, the order and the formatting of everything keyward does not touch stay as the
 * user wrote them. jsonc-parser is loaded on first use (only import-config needs it).
 */
import path from 'node:path'

import {KeywardError} from '../errors/index.js'
import {defaultStateDir, defaultVaultPath, resolveRealPath} from '../vault/index.js'

export interface ClientEntry {
  command: string
  args: string[]
  env: Record<string, string>
}

/** The config as a value; a syntax error names its line and column. */
export async function parseClientConfig(text: string, file: string): Promise<unknown> {
  const {parse, printParseErrorCode} = await import('jsonc-parser')
  const errors: import('jsonc-parser').ParseError[] = []
  const value: unknown = parse(text, errors, {allowTrailingComma: true, disallowComments: false, allowEmptyContent: false})
  if (errors.length > 0) {
    const [{error, offset}] = errors
    const before = text.slice(0, offset).split('\n')
    throw new KeywardError('INVALID_INPUT', `${file} is not valid JSON (with comments): ${printParseErrorCode(error)} at line ${before.length}, column ${before.at(-1)!.length + 1}; fix it and run again`)
  }
  return value
}

/** An entry name for keyward among `taken`: `keyward`, else `keyward-2`, … */
export function keywardEntryName(taken: Iterable<string>): string {
  const names = new Set(taken)
  let name = 'keyward'
  for (let i = 2; names.has(name); i++) name = `keyward-${i}`
  return name
}

/**
 * The config text with the imported entries taken out and keyward's added under `name`, in
 * the file's own shape (VS Code entries carry `"type": "stdio"`); nothing else changes.
 */
export async function rewriteClientConfig(text: string, change: {serversPath: string[]; remove: string[]; name: string; entry: ClientEntry; typed: boolean}): Promise<string> {
  const {applyEdits, modify} = await import('jsonc-parser')
  const eol = text.includes('\r\n') ? '\r\n' : '\n'
  const indent = /^( +|\t)"/m.exec(text)?.[1]
  const formattingOptions = {insertSpaces: indent !== '\t', tabSize: indent && indent !== '\t' ? indent.length : 2, eol}
  const value = change.typed ? {type: 'stdio', ...change.entry} : change.entry
  // keyward's entry goes first and in before the removals: jsonc-parser then reformats only the
  // inserted text, where an insertion after the last entry would reformat that entry too.
  let out = applyEdits(text, modify(text, [...change.serversPath, change.name], value, {formattingOptions, getInsertionIndex: () => 0}))
  for (const entry of change.remove) out = applyEdits(out, modify(out, [...change.serversPath, entry], undefined, {formattingOptions}))
  return out.endsWith(eol) ? out : out + eol
}

/**
 * The environment keyward's entry needs to start as the client starts it: a minimal one, with
 * none of the XDG variables of the shell the import ran in. So the vault and the state
 * directory (rollback ledger, audit log) are named whenever they are not what a bare HOME gives,
 * and the credentials are files: the vault's key file and the API key file, never a key itself.
 */
export function keywardEntryEnv(where: {vault: string; keyFile: string; apiKeyFile: string}, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {KEYWARD_KEY_FILE: where.keyFile, KEYWARD_API_KEY_FILE: where.apiKeyFile}
  const bare = {HOME: env.HOME}
  if (resolveRealPath(where.vault) !== resolveRealPath(defaultVaultPath(bare))) out.KEYWARD_VAULT = where.vault
  if (path.resolve(defaultStateDir(env)) !== path.resolve(defaultStateDir(bare))) out.XDG_STATE_HOME = path.dirname(defaultStateDir(env))
  if (env.KEYWARD_AUDIT_LOG) out.KEYWARD_AUDIT_LOG = path.resolve(env.KEYWARD_AUDIT_LOG)
  return out
}
