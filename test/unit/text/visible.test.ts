/** Text from outside as it is shown (src/text/visible.ts). */
import assert from 'node:assert/strict'

import {escapeCut, escapeText} from '../../../src/text/visible.js'

describe('visible text', () => {
  it('escapes control, invisible and bidirectional characters, and nothing a person can read', () => {
    assert.equal(escapeText('get_\u202etxt.exe\u009b\u200b é'), 'get_\\u{202E}txt.exe\\u{9B}\\u{200B} é')
  })

  it('a cut says how much it left out, and where to see it all (review: an approval covered what a diff never showed)', () => {
    const long = `${'a'.repeat(50)}<IMPORTANT>hidden</IMPORTANT>`
    assert.equal(escapeCut(long, 100, 'x'), long)
    assert.equal(escapeCut(long, 50, '--json shows them all'), `${'a'.repeat(50)}… (29 more characters: --json shows them all)`)
  })
})
