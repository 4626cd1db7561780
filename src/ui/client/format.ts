/** How values read on the page. */
import {escapeText} from '../../text/visible.js'

/**
 * Text that came from outside (an upstream's names and errors, a client's tool names in the
 * audit log) as it is shown: invisible, bidirectional and control characters escaped, so that a
 * name that reads `get_txt.exe` shows the U+202E it holds. Values sent back (filters) stay raw.
 */
export const shown = (text: string): string => escapeText(text, 100_000)

/** `shown`, line by line: for text laid out in lines (a record as indented JSON), whose line ends are its own. */
export const shownLines = (text: string): string => text.split('\n').map(shown).join('\n')

const pad = (n: number) => String(n).padStart(2, '0')

/** Local time, to the second: 2026-11-30 14:05:09. */
export function when(iso: string | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

export function count(n: number): string {
  return n.toLocaleString('en')
}

export function ms(n: number | undefined): string {
  return n === undefined ? '—' : `${n.toLocaleString('en', {maximumFractionDigits: 1})} ms`
}

/** Scope text as typed (spaces, commas or new lines between patterns) to a list. */
export function scopeList(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean)
}
