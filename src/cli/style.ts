import {Chalk, type ChalkInstance} from 'chalk'

/** One colour switch for the whole process; chalk alone ignores NO_COLOR. */
export const style: ChalkInstance = new Chalk()

export function setColor(enabled: boolean): void {
  style.level = enabled ? Math.max(style.level, 1) as 1 : 0
}
