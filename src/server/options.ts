import type {Readable, Writable} from 'node:stream'

import type {AuthMethod} from '../auth/index.js'
import type {KeyMaterial} from '../vault/index.js'
import type {Logger} from './log.js'
import type {StageLists} from './pipeline/pipeline.js'
import type {ToolSource} from './tools/source.js'

/** Everything `keyward serve` is told: one options type for every transport. */
export interface ServeOptions {
  vaultFile: string
  material: KeyMaterial
  transport: 'stdio' | 'http'
  /** Settings given for this run (serve flags): they beat the vault's `keyward config`. */
  settings?: Record<string, string | undefined>
  /** Shorthand for settings['auth.methods']: the authentication methods, in the order they claim credentials. */
  auth?: AuthMethod[]
  /** stdio: the client's key, from KEYWARD_API_KEY or MCP_API_KEY. */
  credential?: string
  host: string
  port: number
  stateless: boolean
  allowedHosts: string[]
  /** Reload when the vault file changes (SIGHUP reloads in any case). */
  watch: boolean
  version: string
  log: Logger
  /** For embedding and tests: stages run just inside the audit stages of each list (assemble.ts), and more tool sources. */
  extraStages?: Partial<StageLists>
  extraSources?: ToolSource[]
  /** stdio: the streams to use instead of the process's own. */
  stdio?: {input: Readable; output: Writable}
}
