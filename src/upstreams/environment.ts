/**
 * What an upstream gets to see. A stdio upstream starts with a minimal environment, not
 * keyward's own (so KEYWARD_* and whatever else the operator's shell holds never reach it),
 * plus its own variables, secrets resolved from the vault. An HTTP upstream gets its headers,
 * with `{secret:NAME}` replaced.
 */
import {KeywardError} from '../errors/index.js'
import {fillSecretRefs} from '../secrets/ref.js'
import type {VaultData} from '../vault/index.js'
import type {HttpUpstream, StdioUpstream} from './definition.js'

/**
 * The variables passed through from keyward's environment, when set (documented in docs/gateway.md).
 * Not HOME (nor USERPROFILE): keyward's default vault and key file are found from it.
 */
export const BASE_ENV = ['PATH', 'USER', 'LOGNAME', 'SHELL', 'TERM', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'SYSTEMROOT', 'APPDATA', 'LOCALAPPDATA', 'PROGRAMDATA', 'COMSPEC', 'PATHEXT']

export interface ResolvedEnv {
  env: Record<string, string>
  /** The secret values in it, so that anything the upstream prints can be cleaned of them. */
  secretValues: string[]
}

function secretText(data: VaultData, name: string, where: string): string {
  const record = data.secrets.get(name)
  if (!record) throw new KeywardError('NOT_FOUND', `${where} refers to secret ${name}, which the vault does not hold; store it with \`keyward secrets set ${name}\``)
  const value = record.value
  if (value.includes(0)) throw new KeywardError('INVALID_INPUT', `${where}: secret ${name} holds a NUL byte, which no environment variable or header can carry`)
  return value.toString('utf8')
}

export function baseEnvironment(from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of BASE_ENV) {
    const value = from[name]
    if (value !== undefined) env[name] = value
  }
  return env
}

/**
 * The whole environment of a stdio upstream. `home` is its private HOME (src/upstreams/isolation.ts):
 * the operator's own is never passed on, since keyward's default vault and key file are found
 * from it; an `--env HOME=…` of the definition wins.
 */
export function upstreamEnvironment(def: StdioUpstream, data: VaultData, options: {home?: string; from?: NodeJS.ProcessEnv} = {}): ResolvedEnv {
  const env = baseEnvironment(options.from)
  if (options.home) {
    env.HOME = options.home
    if (process.platform === 'win32') env.USERPROFILE = options.home
  }
  const secretValues: string[] = []
  for (const [name, value] of Object.entries(def.env)) {
    if ('literal' in value) env[name] = value.literal
    else {
      const text = secretText(data, value.secret, `upstream ${def.name} --env ${name}`)
      env[name] = text
      secretValues.push(text)
    }
  }
  return {env, secretValues}
}

export function upstreamHeaders(def: HttpUpstream, data: VaultData): {headers: Record<string, string>; secretValues: string[]} {
  const headers: Record<string, string> = {}
  const secretValues: string[] = []
  for (const [name, template] of Object.entries(def.headers)) {
    headers[name] = fillSecretRefs(template, (ref) => {
      const text = secretText(data, ref, `upstream ${def.name} header ${name}`)
      if (/[\r\n]/.test(text)) throw new KeywardError('INVALID_INPUT', `upstream ${def.name} header ${name}: secret ${ref} holds a line break`)
      secretValues.push(text)
      return text
    })
  }
  return {headers, secretValues}
}
