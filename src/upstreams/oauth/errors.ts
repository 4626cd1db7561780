/**
 * The failure every piece of upstream OAuth reports when only a person can fix it: no tokens,
 * a refused refresh token, a scope the tokens lack. Thrown from the transport's fetch, it reaches
 * the gateway through the MCP client unchanged (or as a cause), and a tool call answers with its
 * message.
 */
export class UpstreamNeedsLogin extends Error {
  constructor(
    readonly upstream: string,
    readonly reason: string,
    readonly scope?: string,
  ) {
    super(`upstream ${upstream} needs a new login (${reason}): run \`keyward upstream login ${upstream}\`${scope ? `, which asks for scope "${scope}"` : ''}`)
    this.name = 'UpstreamNeedsLogin'
  }
}

/** The UpstreamNeedsLogin in `err` or its causes, if any. */
export function needsLoginIn(err: unknown): UpstreamNeedsLogin | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as {cause?: unknown}).cause, depth++) {
    if (e instanceof UpstreamNeedsLogin) return e
  }
  return undefined
}

/** A refresh that failed for now (network, server error, Redis away): the old token serves while it lasts, and it is tried again. */
export class RefreshFailed extends Error {
  constructor(
    readonly upstream: string,
    reason: string,
  ) {
    super(`upstream ${upstream}: refreshing its OAuth token failed (${reason})`)
    this.name = 'RefreshFailed'
  }
}
