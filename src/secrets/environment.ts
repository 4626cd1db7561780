/** Secrets as environment variables, for `keyward run`. */
import type {VaultData} from '../vault/index.js'
import {isUtf8Text} from './index.js'

/** An environment variable name a shell accepts. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/

export interface SecretEnv {
  env: Record<string, string>
  /** Secrets left out, with why. */
  skipped: {name: string; why: string}[]
}

/** Each secret (or each of `only`) as a variable of the same name; names a shell cannot use, and values no variable can hold, are skipped. */
export function secretsAsEnv(data: VaultData, only?: readonly string[]): SecretEnv {
  const env: Record<string, string> = {}
  const skipped: {name: string; why: string}[] = []
  const names = only ?? [...data.secrets.keys()].sort()
  for (const name of names) {
    const record = data.secrets.get(name)
    if (!record) {
      skipped.push({name, why: 'no such secret'})
      continue
    }
    if (!ENV_NAME_PATTERN.test(name)) {
      skipped.push({name, why: 'not a valid variable name (letters, digits and _ only)'})
      continue
    }
    const value = record.value
    if (value.includes(0) || !isUtf8Text(value)) {
      skipped.push({name, why: 'binary value, which an environment variable cannot hold'})
      continue
    }
    env[name] = value.toString('utf8')
  }
  return {env, skipped}
}
