/**
 * References to vault secrets, the one way a setting or an upstream names a secret without
 * holding its value: `secret:NAME` as a whole value, `{secret:NAME}` inside a header template.
 */
import {KeywardError} from '../errors/index.js'
import type {VaultData} from '../vault/index.js'

const PREFIX = 'secret:'
const IN_TEMPLATE = /\{secret:([^}]*)\}/g

/** The secret name of a `secret:NAME` value; undefined when the value is not a reference. */
export function parseSecretRef(value: string): string | undefined {
  return value.startsWith(PREFIX) ? value.slice(PREFIX.length) : undefined
}

export function formatSecretRef(name: string): string {
  return `${PREFIX}${name}`
}

/** `{secret:NAME}`, as a header template holds it. */
export function secretTemplate(name: string): string {
  return `{${PREFIX}${name}}`
}

/** The names a header template refers to, in order. */
export function secretRefsIn(template: string): string[] {
  return [...template.matchAll(IN_TEMPLATE)].map((m) => m[1])
}

/** The template with every `{secret:NAME}` replaced by what `value` gives for NAME. */
export function fillSecretRefs(template: string, value: (name: string) => string): string {
  return template.replace(IN_TEMPLATE, (_m, name: string) => value(name))
}

/** The template without its references: what is left to check for a credential typed in. */
export function withoutSecretRefs(template: string): string {
  return template.replace(IN_TEMPLATE, '')
}

/** The text of the secret a `secret:NAME` setting names; a clear error when it is no reference, or the vault does not hold it. */
export function resolveSecretRef(data: VaultData, ref: string, setting: string): string {
  const name = parseSecretRef(ref)
  if (name === undefined) throw new KeywardError('INVALID_INPUT', `${setting} must name a vault secret as secret:NAME`)
  const record = data.secrets.get(name)
  if (!record) throw new KeywardError('NOT_FOUND', `${setting} refers to secret ${name}, which the vault does not hold`)
  return record.value.toString('utf8')
}
