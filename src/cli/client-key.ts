/**
 * The environment variables that carry a stdio client's keyward key to `keyward serve`: read by
 * serve, and withheld by `keyward run` from the commands it starts (a key is a credential of the
 * client that launched keyward, not something a child process should inherit).
 */
export const CLIENT_KEY_VARIABLES = ['KEYWARD_API_KEY', 'MCP_API_KEY'] as const

/** The client's key: the first of CLIENT_KEY_VARIABLES that is set and not empty. */
export function clientKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const name of CLIENT_KEY_VARIABLES) if (env[name]) return env[name]
  return undefined
}

/** True for a variable keyward keeps from a child: its own settings and unlock secrets (KEYWARD_*), and client keys. */
export function isKeywardVariable(name: string): boolean {
  return name.startsWith('KEYWARD_') || (CLIENT_KEY_VARIABLES as readonly string[]).includes(name)
}
