/** How deep a parsed JSON value nests, told without recursion, since what is measured may be anything. */

/** Whether objects and arrays nest deeper than `max` levels in `value`: walked without recursion, whatever the depth. */
export function nestedDeeper(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!
    if (depth > max) return true
    if (typeof item !== 'object' || item === null) continue
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1])
    }
  }
  return false
}

const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * Whether JSON text nests objects and arrays deeper than `max` levels, counted as nestedDeeper
 * counts them (the outermost is level 0): one pass over its bytes, before anything parses it,
 * counting brackets outside strings. Text that is not JSON gets an answer too, which its parser
 * then refuses anyway.
 */
export function jsonNestsDeeper(text: Uint8Array, max: number): boolean {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === QUOTE) {
      // To the closing quote, over escapes (a UTF-8 continuation byte is never a quote or a backslash).
      for (i++; i < text.length && text[i] !== QUOTE; i++) if (text[i] === BACKSLASH) i++
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max + 1) return true
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return false
}
