/** The console's audit index: filters, pages, charts and latencies over records, and the feed that keeps it up to date. */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {AuditLog, type AuditRecord} from '../../../src/audit/index.js'
import {AuditFeed} from '../../../src/ui/data/audit-feed.js'
import {AuditIndex} from '../../../src/ui/data/audit-index.js'
import {latencies, select, series} from '../../../src/ui/data/audit-stats.js'
import {sleep} from '../../helpers/cli.js'

const T0 = Date.parse('2026-11-30T10:00:00.000Z')
let seq = 0
function rec(minute: number, fields: Record<string, unknown>): AuditRecord {
  seq++
  return {seq, ts: new Date(T0 + minute * 60_000).toISOString(), prev: '', mac: '', event: 'tool.call', ...fields} as AuditRecord
}
const call = (minute: number, key: string, tool: string, ms: number, outcome = 'ok') => rec(minute, {principal: `key:${key}`, key, name: `${key}-name`, auth: 'api_key', tool, outcome, duration_ms: ms})

/** The index's clock: a few minutes after the sample's records. */
const NOW = () => T0 + 5 * 60_000

function sample(): AuditIndex {
  seq = 0
  const index = new AuditIndex(NOW)
  const records = [
    call(0, 'k1', 'echo', 1),
    call(0, 'k1', 'gh__get_issue', 10),
    call(1, 'k2', 'gh__get_issue', 20, 'error'),
    rec(1, {event: 'authz.denied', principal: 'key:k2', key: 'k2', name: 'k2-name', tool: 'gh__delete_repo', reason: 'not_in_scope'}),
    rec(2, {event: 'ratelimit', principal: 'key:k1', key: 'k1', name: 'k1-name', reason: 'rate_limited'}),
    rec(2, {event: 'auth.failure', peer: '127.0.0.1', reason: 'not_found'}),
    rec(3, {event: 'key.revoke', actor: 'ui', user: 'alice', key: 'k2', name: 'k2-name'}),
    call(3, 'k1', 'gh__get_issue', 30),
  ]
  for (const r of records) index.add(r)
  return index
}

describe('console audit index', () => {
  it('filters by key (id, name or principal), event or group, tool or prefix, outcome and time', () => {
    const index = sample()
    const seqs = (f: Parameters<AuditIndex['query']>[0]) => index.query(f, 100).rows.map((r) => r.seq)
    assert.deepEqual(seqs({}), [8, 7, 6, 5, 4, 3, 2, 1], 'newest first')
    assert.deepEqual(seqs({key: 'k1'}), [8, 5, 2, 1])
    assert.deepEqual(seqs({key: 'key:k2'}), [4, 3])
    assert.deepEqual(seqs({key: 'k2-name'}), [4, 3])
    assert.deepEqual(seqs({key: 'ui:alice'}), [7])
    assert.deepEqual(seqs({event: 'auth'}), [6], 'a group: auth.*, not authz.*')
    assert.deepEqual(seqs({event: 'authz.denied'}), [4])
    assert.deepEqual(seqs({tool: 'gh__*'}), [8, 4, 3, 2])
    assert.deepEqual(seqs({tool: 'gh__get_issue', outcome: 'error'}), [3])
    assert.deepEqual(seqs({from: T0 + 60_000, to: T0 + 2 * 60_000}), [6, 5, 4, 3])
    assert.deepEqual(seqs({key: 'nobody'}), [])
    const row = index.query({event: 'key.revoke'}, 1).rows[0]
    assert.deepEqual([row.who, row.name, row.subject], ['ui:alice', 'ui (alice)', 'k2-name'])
  })

  it('pages: a total for the whole filter, and a cursor for the older rows', () => {
    const index = sample()
    const first = index.query({key: 'k1'}, 3)
    assert.equal(first.total, 4)
    assert.deepEqual(first.rows.map((r) => r.seq), [8, 5, 2])
    const second = index.query({key: 'k1'}, 3, first.next)
    assert.deepEqual(second.rows.map((r) => r.seq), [1])
    assert.equal(second.total, 4)
    assert.equal(second.next, undefined)
  })

  it('counts calls, refusals and rate-limited requests per minute, per key and per tool; latencies per tool', () => {
    const index = sample()
    const s = series(index, {from: T0, to: T0 + 4 * 60_000, bucketMs: 60_000, metric: 'calls', top: 1})
    assert.deepEqual(s.times, [0, 1, 2, 3].map((m) => (T0 + m * 60_000) / 1000))
    assert.deepEqual(s.totals.calls, [2, 1, 0, 1])
    assert.deepEqual(s.totals.refusals, [0, 1, 1, 0])
    assert.deepEqual(s.totals.ratelimited, [0, 0, 1, 0])
    assert.deepEqual(s.sums, {calls: 4, refusals: 2, ratelimited: 1})
    assert.deepEqual(s.byKey.map((g) => [g.label, g.total, g.values]), [['k1-name', 3, [2, 0, 0, 1]], ['1 other', 1, [0, 1, 0, 0]]])
    assert.deepEqual(s.byTool[0], {id: 'gh__get_issue', label: 'gh__get_issue', total: 3, values: [1, 1, 0, 1]})
    const refused = series(index, {from: T0, to: T0 + 4 * 60_000, bucketMs: 60_000, metric: 'refusals', top: 8})
    assert.deepEqual(refused.byTool.map((g) => g.label).sort(), ['(no tool)', 'gh__delete_repo'])
    const lat = latencies(index, T0, T0 + 4 * 60_000)
    assert.deepEqual(lat[0], {tool: 'gh__get_issue', upstream: 'gh', calls: 3, p50: 20, p95: 30, p99: 30})
    assert.deepEqual(lat[1], {tool: 'echo', upstream: 'built-in', calls: 1, p50: 1, p95: 1, p99: 1})
  })

  it('charts only the last day: older records are in the audit view, not in the per-minute counts', () => {
    seq = 0
    const index = new AuditIndex(NOW)
    index.add(call(-2 * 24 * 60, 'old', 'echo', 1))
    index.add(call(-60, 'k1', 'echo', 1))
    index.add(call(0, 'k1', 'echo', 1))
    assert.equal(index.query({}, 10).total, 3)
    const day = series(index, {from: T0 - 3 * 24 * 60 * 60_000, to: T0 + 60_000, bucketMs: 60_000, metric: 'calls', top: 8})
    assert.equal(day.sums.calls, 2)
    assert.deepEqual(day.byKey.map((g) => g.label), ['k1-name'])
  })

  it('selects the same percentiles as sorting would, duplicates and all', () => {
    for (const [n, spread] of [[1, 10], [2, 10], [7, 3], [1000, 5], [1000, 1e6], [4099, 50]]) {
      const values = Float32Array.from({length: n}, (_, i) => Math.floor(Math.abs(Math.sin(i * 12.9898)) * spread))
      const sorted = Float32Array.from(values).sort()
      for (const k of [0, Math.floor(n / 2), n - 1]) assert.equal(select(Float32Array.from(values), k, n), sorted[k], `n=${n} k=${k}`)
    }
  })

  it('grows past its first capacity', () => {
    seq = 0
    const index = new AuditIndex()
    for (let i = 0; i < 5000; i++) index.add(call(i % 60, `k${i % 7}`, `t${i % 13}`, i))
    assert.equal(index.size, 5000)
    assert.equal(index.query({key: 'k3', tool: 't5'}, 1000).total, [...Array(5000).keys()].filter((i) => i % 7 === 3 && i % 13 === 5).length)
  })

  it('the feed reads the log the writer wrote, then what it adds, and tells its listeners', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'keyward-unit-feed-'))
    const file = path.join(dir, 'audit.jsonl')
    const log = new AuditLog({file, key: randomBytes(32), maxSize: 4096})
    const feed = new AuditFeed(file)
    try {
      for (let i = 0; i < 30; i++) await log.record({event: 'tool.call', tool: 'echo', principal: 'key:a', outcome: 'ok', duration_ms: 1})
      await feed.start()
      assert.equal(feed.index.size, 30)
      assert.equal(feed.building, false)
      const heard: number[] = []
      feed.onRows((from, to) => {
        for (let i = from; i < to; i++) heard.push(i)
      })
      for (let i = 0; i < 30; i++) await log.record({event: 'tool.call', tool: 'get_time', principal: 'key:b', outcome: 'ok'})
      await feed.refresh()
      assert.equal(feed.index.size, 60)
      assert.deepEqual(heard, Array.from({length: 30}, (_, i) => 30 + i), 'each new row told once, in order')
      assert.equal(feed.index.query({tool: 'get_time'}, 100).total, 30)
    } finally {
      feed.close()
      await sleep(10)
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
