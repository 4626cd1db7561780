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
