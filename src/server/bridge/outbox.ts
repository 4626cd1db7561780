/**
 * Notifications (progress, log messages) handed to a client connection during a call and not
 * yet sent. They are sent without waiting (a call does not stall on its progress), so the
 * call's answer could otherwise overtake the last of them: the answer waits until they are
 * sent, at most FLUSH_MS, so that a stuck connection never holds it.
 */
const FLUSH_MS = 1000

export class Outbox {
  private readonly sending = new Set<Promise<void>>()

  /** Follows one send; returns it unchanged. */
  track(sent: Promise<void>): Promise<void> {
    this.sending.add(sent)
    const done = () => void this.sending.delete(sent)
    sent.then(done, done)
    return sent
  }

  get pending(): boolean {
    return this.sending.size > 0
  }

  /** Resolves once every send tracked so far has settled, or after FLUSH_MS. */
  async flushed(): Promise<void> {
    if (this.sending.size === 0) return
    let timer: NodeJS.Timeout | undefined
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, FLUSH_MS)))
    await Promise.race([Promise.allSettled([...this.sending]), bound])
    clearTimeout(timer)
  }
}
