import {stripVTControlCharacters} from 'node:util'

import {style} from './style.js'

/**
 * Aligned columns without borders, header in bold. Hand-written on purpose: @oclif/table loads
 * ink and React (~450 ms before the first row), cli-table3 took 6 s and text-table 45 ms for
 * 10,000 rows; this takes a few, and `secrets list` must start fast.
 */
export function renderTable(head: string[], rows: string[][]): string {
  // Cells carry colour codes only when colour is on; only then must padding skip them.
  const coloured = style.level > 0
  const width = coloured ? (s: string) => stripVTControlCharacters(s).length : (s: string) => s.length
  const widths = head.map((h) => h.length)
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) {
      const w = width(row[i])
      if (w > widths[i]) widths[i] = w
    }
  }
  const last = head.length - 1
  const pad = coloured ? (s: string, w: number) => s + ' '.repeat(w - width(s)) : (s: string, w: number) => s.padEnd(w)
  const line = (cells: string[]) => {
    let out = ''
    for (let i = 0; i < last; i++) out += pad(cells[i], widths[i] + 2)
    return out + cells[last]
  }
  let out = line(head.map((h) => style.bold(h)))
  for (const row of rows) out += '\n' + line(row)
  return out
}

/** ISO timestamps trimmed to the minute, in UTC, for tables. */
export function shortTime(iso: string | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z` : '-'
}
