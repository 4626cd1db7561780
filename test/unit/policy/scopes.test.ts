/** Scope sets: grants, exclusions that always win, kinds, and the glob rules. */
import assert from 'node:assert/strict'

import {checkScopeSet, expandScopes, ScopeSet} from '../../../src/policy/index.js'

describe('policy: scopes', () => {
  it('an exclusion wins over a grant, wherever the grant stands in the list', () => {
    for (const sources of [
      ['*', '!debug_*'],
      ['!debug_*', '*'],
      ['get_*', 'debug_*', '!debug_*', 'echo'],
    ]) {
      const scopes = new ScopeSet(sources)
      assert.equal(scopes.allows('tool', 'debug_info'), false, sources.join(','))
    }
    const scopes = new ScopeSet(['*', '!debug_*'])
    assert.equal(scopes.allows('tool', 'echo'), true)
    const resources = new ScopeSet(['resource:file:///srv/**', '!resource:file:///srv/secret/**'])
    assert.equal(resources.allows('resource', 'file:///srv/docs/a.md'), true)
    assert.equal(resources.allows('resource', 'file:///srv/secret/key.pem'), false)
  })

  it('denies by default, and each kind only by its own patterns', () => {
    const scopes = new ScopeSet(['echo', 'prompt:greet'])
    assert.equal(scopes.allows('tool', 'get_time'), false)
    assert.equal(scopes.allows('prompt', 'echo'), false)
    assert.equal(scopes.allows('tool', 'greet'), false)
    assert.equal(scopes.allows('prompt', 'greet'), true)
    assert.equal(new ScopeSet([]).allows('tool', 'echo'), false)
  })

  it('* stays within one segment of a resource path, ** crosses; braces are refused, never expanded', () => {
    const scopes = new ScopeSet(['resource:file:///docs/*', 'resource:mem://**'])
    assert.equal(scopes.allows('resource', 'file:///docs/a.md'), true)
    assert.equal(scopes.allows('resource', 'file:///docs/sub/a.md'), false)
    assert.equal(scopes.allows('resource', 'mem://a/b/c'), true)
    assert.throws(() => new ScopeSet(['github__{get,list}_*']), /can never match/)
  })

  it('a resource URI respelled (percent-encoded letters or dots, repeated slashes, scheme case, file://localhost) is held to the same patterns', () => {
    const scopes = new ScopeSet(['resource:**', '!resource:file:///srv/secret/**'])
    for (const uri of ['file:///srv/%73ecret/key', 'file:///srv//secret/key', 'FILE:///srv/secret/key', 'file://localhost/srv/secret/key', 'file:///srv/x/%2e%2e/secret/key']) {
      assert.equal(scopes.allows('resource', uri), false, `${uri} is file:///srv/secret/key to a file server`)
    }
    const docs = new ScopeSet(['resource:file:///srv/docs/**'])
    assert.equal(docs.allows('resource', 'file:///srv/docs/%2e%2e/secret/key'), false, 'a %2e%2e segment climbs out as .. does')
    assert.equal(docs.allows('resource', 'file:///srv/docs/my%20notes.txt'), true, 'an escape that is not a respelling stays allowed')
    assert.equal(docs.allows('resource', 'file:///srv/docs/a.txt'), true)
    assert.equal(new ScopeSet(['resource:urn:isbn:*']).allows('resource', 'urn:isbn:123'), true, 'a URI without a path of slashes')
    // What the URL parser would escape reads as written: patterns that name it literally still match.
    assert.equal(new ScopeSet(['resource:github://repos/*/*']).allows('resource', 'github://repos/{owner}/{repo}'), true, 'a template')
    assert.equal(new ScopeSet(['resource:file:///srv/résumé/*']).allows('resource', 'file:///srv/résumé/a b.txt'), true, 'non-ASCII and a space')
    assert.equal(new ScopeSet(['resource:**', '!resource:file:///srv/résumé/**']).allows('resource', 'file:///srv/r%C3%A9sum%C3%A9/x'), false, 'non-ASCII respelled')
    // An encoded slash: a break to a server that decodes the whole path, so exclusions hold against that reading too; grants do not need it.
    for (const uri of ['file:///srv/a%2Fb/x', 'file:///srv/a%2fb/x', 'file:///srv%2Fa%2Fb%2Fx', 'file:///srv/a%2F%2Fb/x']) {
      assert.equal(new ScopeSet(['resource:**', '!resource:file:///srv/a/b/**']).allows('resource', uri), false, `${uri} is file:///srv/a/b/x to a server that decodes the path`)
    }
    // That reading is resolved as a server resolves it: dot segments spelled with %2F, and a leading %2F after file://.
    for (const uri of ['file:///srv/c/..%2Fa/b/x', 'file:///srv/c%2F..%2Fa/b/x', 'file:///srv/c/%2E%2E%2Fa/b/x', 'file:///%2Fsrv/a/b/x', 'file:///%2F%2Fsrv/a/b/x']) {
      assert.equal(new ScopeSet(['resource:**', '!resource:file:///srv/a/b/**']).allows('resource', uri), false, `${uri} is file:///srv/a/b/x to a server that decodes the path`)
    }
    assert.equal(new ScopeSet(['resource:github://repos/*']).allows('resource', 'github://repos/owner%2Fname'), true, 'an encoded slash inside one segment of a grant')
    // A dot segment made with encoded slashes climbs out of a grant, to a server that decodes the whole path.
    const publicOnly = new ScopeSet(['resource:file:///srv/public/**'])
    for (const uri of ['file:///srv/public/..%2Fsecret/key', 'file:///srv/public/x%2F..%2F..%2Fsecret/key', 'file:///srv/public/.%2F..%2Fsecret']) {
      assert.equal(publicOnly.allows('resource', uri), false, `${uri} climbs out of /srv/public`)
    }
    assert.equal(publicOnly.allows('resource', 'file:///srv/public/a%2F..%2Fb'), true, 'a climb that stays inside the grant')
    assert.equal(publicOnly.allows('resource', 'file:///srv/public/a%2Fb'), true)
    assert.equal(new ScopeSet(['resource:**', '!resource:file:///srv/a/b/**']).allows('resource', 'file:///srv/a%2Fc/x'), true, 'an encoded slash that reaches no exclusion')
  })

  it('a set of exclusions only, or whose every grant is excluded, is refused when written', () => {
    assert.throws(() => checkScopeSet(['!debug_*']), /grant nothing/)
    assert.throws(() => checkScopeSet(['echo', '!*']), /every grant is excluded/)
    assert.deepEqual(expandScopes(['readonly', 'echo,readonly']), ['get_*', 'list_*', 'echo'])
  })
})
