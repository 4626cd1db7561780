/**
 * Verified tokens, by a hash of the token (never the token itself), bounded in number and never
 * kept past the moment each entry must expire. Least recently added goes first when full.
 */
import {hash} from 'node:crypto'

export class TokenCache<T> {
  private readonly entries = new Map<string, {value: T; until: number}>()

  constructor(private readonly max = 10_000) {}

  static keyOf(token: string): string {
    return hash('sha256', token, 'base64url')
  }

  get(key: string, now = Date.now()): T | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (entry.until <= now) {
      this.entries.delete(key)
      return undefined
    }
    return entry.value
  }

  set(key: string, value: T, until: number): void {
    if (until <= Date.now()) return
    this.entries.delete(key)
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next().value
      if (oldest !== undefined) this.entries.delete(oldest)
    }
    this.entries.set(key, {value, until})
  }

  get size(): number {
    return this.entries.size
  }

  clear(): void {
    this.entries.clear()
  }
}
