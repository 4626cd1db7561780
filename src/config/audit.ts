/**
 * The audit settings a writer needs, from a vault's config (or a serve run's effective one): one
 * reading for the CLI and the server. Here rather than in src/audit, which sits below config.
 */
import {parseRetention, type Retention} from '../audit/retention.js'
import {parseSize, settingFor} from './settings.js'

export interface AuditSettings {
  maxSize: number
  keep?: Retention
}

export function auditSettings(config: ReadonlyMap<string, string>): AuditSettings {
  const maxSize = parseSize(config.get('audit.max-size') ?? settingFor('audit.max-size')!.default!)!
  const keep = config.get('audit.keep')
  return {maxSize, keep: keep === undefined ? undefined : parseRetention(keep)}
}
