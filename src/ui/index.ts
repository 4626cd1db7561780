/**
 * `keyward ui`: the console's parts put together over an open vault session. Loaded only by the
 * ui command (lazily), so no other command pays for it.
 */
import os from 'node:os'

import {auditKeyOf} from '../audit/index.js'
import {upstreamContext} from '../cli/pins.js'
import type {Session} from '../cli/session.js'
import {auditFileOf, type ConsoleState} from './api/context.js'
import {AuditFeed} from './data/audit-feed.js'
import {AuditVerifier} from './data/audit-verify.js'
import {CatalogSource} from './data/catalog.js'
import {ReplicaWatch} from './data/replicas.js'
import {VaultView} from './data/vault-view.js'
import {Assets} from './http/assets.js'
import {Sessions} from './http/sessions.js'
import {assetsDir} from './paths.js'
import {startConsole, type RunningConsole} from './server.js'

export {openInBrowser} from './open-browser.js'
export type {RunningConsole} from './server.js'

export interface UiOptions {
  session: Session
  port: number
  idleMs: number
  version: string
  /** --redis, if given (else KEYWARD_REDIS_URL, else the vault's redis.url). */
  redis?: string
  /** --audit-log, if given. */
  auditLog?: string
  log(line: string): void
  onLogin?(): void
  /** The client's files (default: dist/ui). */
  assets?: Assets
}

export interface OpenConsole {
  console: RunningConsole
  close(): Promise<void>
}

export async function openConsole(o: UiOptions): Promise<OpenConsole> {
  const vault = new VaultView(o.session, o.auditLog)
  const assets = o.assets ?? (await Assets.load(assetsDir() ?? 'dist/ui'))
  const catalog = new CatalogSource(o.version, upstreamContext(o.session), vault.session)
  const replicas = new ReplicaWatch(o.redis)
  let audit: {file: string; feed: AuditFeed; verifier: AuditVerifier} | undefined
  const state: ConsoleState = {
    vault,
    catalog,
    replicas,
    version: o.version,
    user: osUser(),
    idleMs: o.idleMs,
    auditLog: o.auditLog,
    async audit() {
      const file = auditFileOf(state, await vault.data())
      if (audit?.file !== file) {
        // The vault's audit.path changed (or this is the first look): index the log it names now.
        audit?.feed.close()
        const feed = new AuditFeed(file)
        void feed.start()
        const verifier = new AuditVerifier(file, async () => auditKeyOf(await vault.data()))
        void verifier.run()
        audit = {file, feed, verifier}
      }
      audit.verifier.maybeRun(audit.feed.index.size)
      return audit
    },
  }
  const sessions = new Sessions(o.idleMs)
  const running = await startConsole({port: o.port, state, assets, sessions, log: o.log, onLogin: o.onLogin})
  // Started now, so the first page has the log indexed and the upstreams' tools known sooner
  // (each upstream is asked what it offers once, as `upstream test` does).
  void state.audit()
  void vault.data().then((data) => catalog.testUntested(data)).catch(() => {})
  return {
    console: running,
    async close() {
      await running.close()
      await vault.settle()
      audit?.feed.close()
      replicas.close()
    },
  }
}

function osUser(): string {
  try {
    return os.userInfo().username
  } catch {
    return String(process.getuid?.() ?? 'unknown')
  }
}
