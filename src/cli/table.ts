import {stripVTControlCharacters} from 'node:util'

import textTable from 'text-table'

import {style} from './style.js'

/** Aligned columns without borders, header in bold; widths ignore colour codes. */
export function renderTable(head: string[], rows: string[][]): string {
  return textTable([head.map((h) => style.bold(h)), ...rows], {
    hsep: '  ',
    stringLength: (s: string) => stripVTControlCharacters(s).length,
  })
}

/** ISO timestamps trimmed to the minute, in UTC, for tables. */
export function shortTime(iso: string | undefined): string {
  return iso ? iso.slice(0, 16).replace('T', ' ') + 'Z' : '-'
}
