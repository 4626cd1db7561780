/** How keyward opens a URL (src/cli/browser.ts): $BROWSER first, its words and %s; else the platform's opener, never through a shell. */
import assert from 'node:assert/strict'

import {openerFor, words} from '../../../src/cli/browser.js'

const URL_ = 'https://as.example/authorize?a=1&b=2'

describe('opening a browser', () => {
  it('splits $BROWSER into words as a shell would, without running one', () => {
    assert.deepEqual(words(`firefox --new-window`), ['firefox', '--new-window'])
    assert.deepEqual(words(`"/opt/My Browser/run" 'a b' c\\ d`), ['/opt/My Browser/run', 'a b', 'c d'])
    assert.deepEqual(words(`node "" x`), ['node', '', 'x'])
  })

  it('$BROWSER gets the URL last, or in place of %s; of a list, the first (the console opened its own way until review)', () => {
    assert.deepEqual(openerFor(URL_, {BROWSER: 'firefox --new-window'}), {command: 'firefox', args: ['--new-window', URL_]})
    assert.deepEqual(openerFor(URL_, {BROWSER: 'open -a Safari %s --fresh'}), {command: 'open', args: ['-a', 'Safari', URL_, '--fresh']})
    assert.deepEqual(openerFor(URL_, {BROWSER: ':chromium:firefox'}, 'linux'), {command: 'chromium', args: [URL_]})
    assert.deepEqual(openerFor(URL_, {BROWSER: String.raw`C:\Browsers\b.exe;other`}, 'win32'), {command: String.raw`C:\Browsers\b.exe`, args: [URL_]})
    assert.deepEqual(openerFor(URL_, {BROWSER: `"/opt/My Browser/browser" --new-tab`}), {command: '/opt/My Browser/browser', args: ['--new-tab', URL_]})
  })

  it('without $BROWSER: xdg-open, open, or rundll32 (not cmd, which would split the URL at &)', () => {
    assert.deepEqual(openerFor(URL_, {}, 'linux'), {command: 'xdg-open', args: [URL_]})
    assert.deepEqual(openerFor(URL_, {BROWSER: '  '}, 'darwin'), {command: 'open', args: [URL_]})
    assert.deepEqual(openerFor(URL_, {}, 'win32'), {command: 'rundll32', args: ['url.dll,FileProtocolHandler', URL_]})
  })
})
