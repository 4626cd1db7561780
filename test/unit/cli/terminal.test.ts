/** What the CLI prints of others' text (an upstream, an authorization server, Redis) reaches the terminal escaped. */
import assert from 'node:assert/strict'

import {stderrLine} from '../../../src/cli/output.js'
import {upstreamDetails, type UpstreamView} from '../../../src/cli/upstreams.js'

const HOSTILE = '\u001b]0;PWNED\u0007\u001b[2J\u202e'
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/

describe('CLI output on a terminal (review)', () => {
  it('stderr lines escape control characters', () => {
    const written: string[] = []
    const original = process.stderr.write.bind(process.stderr)
    process.stderr.write = ((chunk: string) => (written.push(chunk), true)) as typeof process.stderr.write
    try {
      stderrLine(`warning: could not start x (${HOSTILE})`)
    } finally {
      process.stderr.write = original
    }
    assert.equal(written.join(''), 'keyward: warning: could not start x (\\u{1B}]0;PWNED\\u{7}\\u{1B}[2J\\u{202E})\n')
  })

  it('upstream show prints an authorization server’s scopes and issuer escaped', () => {
    const view = {
      name: 'o',
      transport: 'http',
      url: 'https://mcp.example/mcp',
      secrets: [],
      isolation: 'shared',
      prefix: true,
      exposedAs: 'o__*',
      tested: null,
      created: 'c',
      updated: 'u',
      oauth: {grant: 'authorization_code', signedIn: true, scopes: [`read${HOSTILE}`], issuer: `https://as.example${HOSTILE}`, refreshes: 0},
    } as unknown as UpstreamView
    const out = upstreamDetails(view)
    assert.match(out, /read\\u\{1B\}/)
    assert.doesNotMatch(out.replace(/\u001b\[[0-9;]*m/g, ''), RAW)
  })
})
