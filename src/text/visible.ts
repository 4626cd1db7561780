/**
 * Text from outside (an upstream, a client, a request header) made safe to show: on a terminal,
 * where control sequences act, and to a person, who cannot see invisible or bidirectional
 * characters (a name that reads `get_txt.exe` may hold U+202E).
 */

/** Every invisible or control character as `\u{...}`; a long text cut with a mark. Safe to print on a terminal. */
export function escapeText(text: string, max = 160): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text
  return cut.replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}\u{E0100}-\u{E01EF}\uFE00-\uFE0F\u3164\uFFA0\u115F\u1160]/gu, (ch) => `\\u{${ch.codePointAt(0)!.toString(16).toUpperCase()}}`)
}

/** A name shown so that every character outside printable ASCII is visible as an escape. */
export function escapeName(name: string): string {
  return name.replace(/[^\x20-\x7E]/gu, (ch) => `\\u{${ch.codePointAt(0)!.toString(16).toUpperCase()}}`)
}

/** `escapeText`, cut at `max` characters with how many more there are said in words, and `where` to see them all. */
export function escapeCut(text: string, max: number, where: string): string {
  if (text.length <= max) return escapeText(text, max)
  return `${escapeText(text.slice(0, max), max)}… (${text.length - max} more characters: ${where})`
}
