/**
 * The order `keyward serve` shuts down in: Redis, the vault watcher, the transport, the upstream
 * servers; every step runs whatever the one before did, and the audit log is written out last,
 * always (a record still queued keeps the process alive until it is written, so nothing is lost
 * even if a step hangs; closing writes it out at once rather than after the batch delay).
 */
import type {Logger} from './log.js'
import type {OpenAudit} from './open-audit.js'

export type ShutdownStep = [what: string, step: () => unknown]

export async function shutDown(steps: readonly ShutdownStep[], audit: OpenAudit, stop: Record<string, unknown>, log: Logger): Promise<void> {
  for (const [what, step] of steps) {
    try {
      await step()
    } catch (err) {
      log('warn', `shutting down: closing ${what} failed (${(err as Error).message})`)
    }
  }
  const stopped = audit.record({event: 'server.stop', ...stop}).catch(() => {})
  await audit.close()
  await stopped
}
