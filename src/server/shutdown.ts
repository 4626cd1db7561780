/**
 * The order `keyward serve` shuts down in: Redis, the vault watcher, the transport, the upstream
 * servers; every step runs whatever the one before did, a step still running after
 * STEP_DEADLINE_MS is left behind (logged), and the audit log is written out last,
 * always (a record still queued keeps the process alive until it is written, so nothing is lost
 * even if a step hangs; closing writes it out at once rather than after the batch delay).
 */
import type {Logger} from './log.js'
import type {OpenAudit} from './open-audit.js'

export type ShutdownStep = [what: string, step: () => unknown]

/** How long one step may take before shutdown goes on without it: a server that cannot stop is worse than one step left unfinished. */
export const STEP_DEADLINE_MS = 10_000

const LATE = Symbol('late')

export async function shutDown(steps: readonly ShutdownStep[], audit: OpenAudit, stop: Record<string, unknown>, log: Logger, deadlineMs = STEP_DEADLINE_MS): Promise<void> {
  for (const [what, step] of steps) {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<typeof LATE>((resolve) => (timer = setTimeout(() => resolve(LATE), deadlineMs)))
    try {
      if ((await Promise.race([Promise.resolve().then(step), late])) === LATE) log('warn', `shutting down: closing ${what} took over ${deadlineMs / 1000} s; going on without it`)
    } catch (err) {
      log('warn', `shutting down: closing ${what} failed (${(err as Error).message})`)
    } finally {
      clearTimeout(timer)
    }
  }
  const stopped = audit.record({event: 'server.stop', ...stop}).catch(() => {})
  await audit.close()
  await stopped
}
