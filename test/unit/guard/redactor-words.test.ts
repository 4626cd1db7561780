import assert from 'node:assert/strict'

import {Redactor} from '../../../src/guard/redactor.js'

describe('redactor: what a secret may be', () => {
  it('never redacts a value under 8 characters, nor a common word; redacts the rest', () => {
    const r = new Redactor([['ENV', 'production'], ['PRODUCTION_UPPER', 'PRODUCTION'], ['SHORT', 'abcdefg'], ['EIGHT', 'abcdefgh'], ['TOKEN', 'Zq9xV3mK8pL2']], {tokens: false})
    assert.equal(r.text('deployed to production (PRODUCTION)'), 'deployed to production (PRODUCTION)')
    assert.equal(r.text('abcdefg'), 'abcdefg')
    assert.equal(r.text('abcdefgh'), '[REDACTED:EIGHT]')
    assert.equal(r.text('token Zq9xV3mK8pL2 here'), 'token [REDACTED:TOKEN] here')
  })
})
