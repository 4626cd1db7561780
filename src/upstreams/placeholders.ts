/**
 * The variables MCP clients expand in their configs before starting a server: `${env:NAME}`
 * (VS Code, Cursor), `${NAME}` and `${NAME:-default}` (Claude Code), `${userHome}`,
 * `${workspaceFolder}`, `${input:id}` (VS Code asks the user when the server starts). They are
 * the client's, not secrets: migrating one as a literal would hand the server the text
 * `${input:token}`. What can be known at import time is resolved (the environment of the
 * import, the home directory, the workspace a `.vscode/mcp.json` belongs to); a server with
 * anything else is left unmigrated.
 */
import os from 'node:os'

export interface PlaceholderContext {
  env: NodeJS.ProcessEnv
  /** The workspace folder, when the config file is a workspace's (`<folder>/.vscode/mcp.json`). */
  workspaceFolder?: string
}

export interface Expansion {
  value: string
  /** Placeholders replaced, as written (`${env:GITHUB_TOKEN}`), for the report; never their values. */
  resolved: string[]
  /** Placeholders that cannot be known at import time, as written. */
  unresolved: string[]
}

const PLACEHOLDER = /\$\{([^}]{0,256})\}/g
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** What one placeholder stands for, or undefined when that cannot be known here. */
function valueOf(body: string, context: PlaceholderContext): string | undefined {
  if (body.startsWith('env:')) {
    const name = body.slice(4)
    return NAME.test(name) ? context.env[name] : undefined
  }
  if (body === 'userHome') return os.homedir()
  if (body === 'workspaceFolder') return context.workspaceFolder
  if (body === 'pathSeparator' || body === '/') return '/'
  const withDefault = /^([A-Za-z_][A-Za-z0-9_]*):-(.*)$/s.exec(body)
  if (withDefault) return context.env[withDefault[1]] || withDefault[2]
  return NAME.test(body) ? context.env[body] : undefined
}

/** A string with every placeholder it holds expanded where possible. */
export function expand(text: string, context: PlaceholderContext): Expansion {
  const resolved: string[] = []
  const unresolved: string[] = []
  const value = text.replace(PLACEHOLDER, (whole, body: string) => {
    const known = valueOf(body, context)
    if (known === undefined) {
      unresolved.push(whole)
      return whole
    }
    resolved.push(whole)
    return known
  })
  return {value, resolved, unresolved}
}
