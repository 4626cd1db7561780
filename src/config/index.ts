/** `keyward config`: server settings in the vault, and what `keyward serve` makes of them. */
import {KeywardError} from '../errors/index.js'
import type {VaultData} from '../vault/index.js'
import {checkSetting, configOf, flagName, settingFor, SETTINGS, type Setting} from './settings.js'

export {ASYMMETRIC_ALGORITHMS, AUTH_METHOD_NAMES, checkSetting, configOf, countValue, durationValue, flagName, parseDurationValue, parseSize, settingFor, SETTINGS, splitList, type Setting} from './settings.js'

export interface ConfigEntry {
  key: string
  value: string
  /** Where the value comes from: the vault, or the default. */
  source: 'vault' | 'default'
  description: string
}

export function setConfig(data: VaultData, key: string, value: string): {before?: string; after: string} {
  const after = checkSetting(key, value, data)
  const table = configOf(data)
  const before = table.get(key)
  table.set(key, after)
  return {before, after}
}

export function unsetConfig(data: VaultData, key: string): string | undefined {
  if (!settingFor(key)) throw new KeywardError('INVALID_INPUT', `unknown config key ${JSON.stringify(key.slice(0, 80))}; see \`keyward config list --all\``)
  const table = configOf(data)
  const before = table.get(key)
  table.delete(key)
  return before
}

export function getConfig(data: VaultData, key: string): ConfigEntry {
  const setting = settingFor(key)
  if (!setting) throw new KeywardError('INVALID_INPUT', `unknown config key ${JSON.stringify(key.slice(0, 80))}; see \`keyward config list --all\``)
  const value = configOf(data).get(key)
  if (value !== undefined) return {key, value, source: 'vault', description: setting.description}
  if (setting.default !== undefined) return {key, value: setting.default, source: 'default', description: setting.description}
  throw new KeywardError('NOT_FOUND', `config ${key} is not set and has no default`)
}

/** The settings in the vault, and with `all` every key that has a default too. */
export function listConfig(data: VaultData, all: boolean): ConfigEntry[] {
  const table = configOf(data)
  const out: ConfigEntry[] = []
  for (const [key, value] of [...table].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out.push({key, value, source: 'vault', description: settingFor(key)?.description ?? ''})
  }
  if (all) {
    for (const s of SETTINGS) if (!s.prefix && !table.has(s.key) && s.default !== undefined) out.push({key: s.key, value: s.default, source: 'default', description: s.description})
  }
  return out
}

/**
 * The effective settings of one serve run: a flag beats the vault, which beats the default.
 * Every value, whatever its origin, is checked the same way.
 */
export function effectiveConfig(data: VaultData, overrides: Readonly<Record<string, string | undefined>> = {}): Map<string, string> {
  const out = new Map<string, string>()
  for (const s of SETTINGS) if (!s.prefix && s.default !== undefined) out.set(s.key, s.default)
  for (const [key, value] of configOf(data)) out.set(key, value)
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue
    out.set(key, checkSetting(key, value, data))
  }
  return out
}

/** The settings that have a serve flag of their own. */
export function flaggedSettings(): Setting[] {
  return SETTINGS.filter((s) => !s.prefix && s.flag !== false)
}

/** The settings that take a name after their key (`proxy.scope-map.GROUP`): one repeatable serve flag each, NAME=VALUE. */
export function prefixSettings(): Setting[] {
  return SETTINGS.filter((s) => s.prefix)
}

export {flagName as settingFlag}
