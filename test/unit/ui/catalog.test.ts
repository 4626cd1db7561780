/** The scope preview: what a set of scopes would allow, by the same ScopeSet check serve makes. */
import assert from 'node:assert/strict'

import {previewScopes} from '../../../src/ui/data/catalog.js'

const items = {tools: ['echo', 'get_time', 'gh__get_issue', 'gh__delete_repo'], prompts: ['gh__summarize'], resources: ['file:///srv/docs/a.md', 'file:///etc/passwd'], untested: ['slow']}
const allowed = (list: {name: string; allowed: boolean}[]) => list.filter((i) => i.allowed).map((i) => i.name)

describe('console scope preview', () => {
  it('expands presets and shows what is allowed, exclusions winning', () => {
    const p = previewScopes(['readonly', 'gh__*', '!gh__delete_*', 'resource:file:///srv/**'], items)
    assert.deepEqual(p.scopes, ['get_*', 'list_*', 'gh__*', '!gh__delete_*', 'resource:file:///srv/**'])
    assert.deepEqual(allowed(p.tools), ['get_time', 'gh__get_issue'])
    assert.deepEqual(allowed(p.prompts), [])
    assert.deepEqual(allowed(p.resources), ['file:///srv/docs/a.md'])
    assert.deepEqual(p.untested, ['slow'])
  })

  it('says why scopes cannot be stored, as the CLI does', () => {
    assert.match(previewScopes(['!echo'], items).error ?? '', /grant nothing/)
    assert.match(previewScopes(['nope:x'], items).error ?? '', /unknown kind/)
  })
})
