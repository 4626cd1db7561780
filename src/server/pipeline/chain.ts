/**
 * The generic request chain: stages are middleware (`(ctx, next)`), each may act before and
 * after the rest of the chain, or stop it by throwing. Nothing here knows what a key, a tool
 * or a transport is; src/server/assemble.ts decides which stages run, in which list.
 */

export type Stage<C> = (ctx: C, next: () => Promise<void>) => void | Promise<void>

/** What runs after the last stage, when every stage passed: the transport's own work. */
export type Terminal<C> = (ctx: C) => void | Promise<void>

/** Runs stages as nested middleware: stage i's `next` runs stage i+1, and the last one's runs `terminal`. */
export function compose<C>(stages: readonly Stage<C>[]): (ctx: C, terminal?: Terminal<C>) => Promise<void> {
  const list = [...stages]
  return (ctx, terminal) => {
    const at = async (i: number): Promise<void> => {
      const stage = list[i]
      if (stage) await stage(ctx, () => at(i + 1))
      else if (terminal) await terminal(ctx)
    }
    return at(0)
  }
}
