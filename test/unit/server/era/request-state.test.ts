/**
 * requestState sealing (src/server/era/request-state.ts): a token opens once, for its caller,
 * for its call, before it expires; everything else is refused with the same wire answer.
 */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'

import {FORGET_AFTER_MS, MemoryReplayGuard, RequestStateRefused, RequestStateSealer} from '../../../../src/server/era/request-state.js'
import {ensureRequestStateKey, requestStateKeyOf} from '../../../../src/server/era/state-key.js'
import {emptyData} from '../../../../src/vault/payload.js'

const alice = {principal: 'key:alice', method: 'tools/call', name: 'github__create_issue'}

async function refusedFor(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    assert.ok(err instanceof RequestStateRefused, `expected a RequestStateRefused, got ${String(err)}`)
    return err.reason
  }
  assert.fail('the token was accepted')
}

describe('requestState sealing', () => {
  let clock = 1_000_000
  const now = () => clock
  const key = randomBytes(32)
  let sealer: RequestStateSealer
  beforeEach(() => {
    clock = 1_000_000
    sealer = new RequestStateSealer(key, {now, ttlMs: 60_000})
  })

  it('opens for the caller and the call it was sealed for, and hides what it carries', async () => {
    const token = sealer.seal(alice, {call: 'pending-7', upstreamState: 'secret-ish'})
    assert.match(token, /^kws1\.[A-Za-z0-9_-]+$/)
    assert.doesNotMatch(Buffer.from(token.slice(5), 'base64url').toString('latin1'), /pending-7|secret-ish/)
    assert.deepEqual(await sealer.open(token, alice), {call: 'pending-7', upstreamState: 'secret-ish'})
  })

  it('refuses a replay: a token is spent by its first use', async () => {
    const token = sealer.seal(alice, 1)
    await sealer.open(token, alice)
    assert.equal(await refusedFor(sealer.open(token, alice)), 'replayed')
  })

  it('refuses a token sent with another credential', async () => {
    const token = sealer.seal(alice, 1)
    assert.equal(await refusedFor(sealer.open(token, {...alice, principal: 'key:bob'})), 'invalid')
    // and the refusal did not spend it: its owner still can use it once
    assert.equal(await sealer.open(token, alice), 1)
  })

  it('refuses an expired token', async () => {
    const token = sealer.seal(alice, 1)
    clock += 60_000
    assert.equal(await refusedFor(sealer.open(token, alice)), 'expired')
  })

  it('refuses a tampered token, every byte of it', async () => {
    const token = sealer.seal(alice, {n: 1})
    const raw = Buffer.from(token.slice(5), 'base64url')
    for (let i = 0; i < raw.length; i++) {
      const bad = Buffer.from(raw)
      bad[i] ^= 0x01
      assert.equal(await refusedFor(sealer.open(`kws1.${bad.toString('base64url')}`, alice)), 'invalid', `byte ${i}`)
    }
  })

  it('refuses a token minted under another key (another vault)', async () => {
    const other = new RequestStateSealer(randomBytes(32), {now})
    assert.equal(await refusedFor(sealer.open(other.seal(alice, 1), alice)), 'invalid')
  })

  it('refuses a token used for another tool or method', async () => {
    assert.equal(await refusedFor(sealer.open(sealer.seal(alice, 1), {...alice, name: 'github__delete_repo'})), 'wrong_request')
    assert.equal(await refusedFor(sealer.open(sealer.seal(alice, 1), {...alice, method: 'prompts/get'})), 'wrong_request')
  })

  it('refuses what is not a token at all, without decrypting', async () => {
    for (const junk of [undefined, 42, '', 'kws1.', 'kws1.AAAA', 'v2.abc', 'kws1.' + 'A'.repeat(70_000), {state: 1}]) {
      assert.equal(await refusedFor(sealer.open(junk, alice)), 'malformed', JSON.stringify(junk)?.slice(0, 20))
    }
  })

  it('tells the client the same thing whatever the reason', () => {
    for (const reason of ['invalid', 'expired', 'replayed', 'wrong_request', 'malformed', 'forgotten'] as const) {
      const r = new RequestStateRefused(reason).refusal()
      assert.deepEqual([r.status, r.code, r.message, r.data], [400, -32602, 'Invalid or expired requestState', {reason: 'invalid_request_state'}])
    }
  })

  it('keeps its replay guard bounded: full, it forgets the oldest id, and refuses that caller\'s tokens minted by then until it expires, so nothing forgotten can be replayed', async () => {
    const guard = new MemoryReplayGuard(3, 100, 0)
    const small = new RequestStateSealer(key, {now, ttlMs: 1000, replay: guard})
    const tokens = [0, 1, 2, 3, 4, 5].map((i) => ((clock += 10), small.seal(alice, i)))
    for (const t of tokens.slice(1, 4)) await small.open(t, alice)
    assert.equal(await small.open(tokens[4], alice), 4, 'a full guard makes room rather than refuse')
    assert.equal(guard.size, 3)
    // Token 1's id was forgotten: its replay is refused by the floor, and so is token 0, older and never spent.
    assert.equal(await refusedFor(small.open(tokens[1], alice)), 'forgotten')
    assert.equal(await refusedFor(small.open(tokens[0], alice)), 'forgotten')
    // A token minted after the floor still opens, once; room is made again by forgetting token 2.
    assert.equal(await small.open(tokens[5], alice), 5)
    assert.equal(await refusedFor(small.open(tokens[2], alice)), 'forgotten')
    for (const t of tokens.slice(3)) assert.equal(await refusedFor(small.open(t, alice)), 'replayed')
    // A while after they expire, the guard forgets them all, and the floor with them.
    clock += 1000 + FORGET_AFTER_MS
    const fresh = small.seal(alice, 'fresh')
    assert.equal(await small.open(fresh, alice), 'fresh')
    assert.equal(guard.size, 1)
    assert.equal(await refusedFor(small.open(fresh, alice)), 'replayed')
  })

  it('is fair: a caller spending tokens fast loses only its own, never the retry of a caller holding no more than it (review: a full guard refused everyone; then a tie made the other pay)', async () => {
    const bob = {...alice, principal: 'key:bob'}
    const guard = new MemoryReplayGuard(4, 100, 0)
    const small = new RequestStateSealer(key, {now, ttlMs: 60_000, replay: guard})
    // Bob's pending token is minted first, then he spends two: his share of 4 between two callers.
    const [pending, ...spent] = ['pending', 'bob 0', 'bob 1'].map((v) => ((clock += 10), small.seal(bob, v)))
    for (const t of spent) await small.open(t, bob)
    // Alice fills the guard, ties with him, then would hold more: each time, her own oldest goes.
    for (let i = 0; i < 20; i++) {
      clock += 10
      assert.equal(await small.open(small.seal(alice, i), alice), i)
    }
    assert.equal(guard.size, 4)
    assert.equal(await small.open(pending, bob), 'pending', 'bob held no more than his share: nothing of his was forgotten')
    assert.equal(guard.size, 4)
    for (const t of [pending, ...spent]) await refusedFor(small.open(t, bob))
  })

  it('holds one caller to its own share, MAX_SPENT_PER_PRINCIPAL, before the guard is full', async () => {
    const bob = {...alice, principal: 'key:bob'}
    const guard = new MemoryReplayGuard(100, 3, 0)
    const small = new RequestStateSealer(key, {now, ttlMs: 60_000, replay: guard})
    const first = small.seal(alice, 'first')
    await small.open(first, alice)
    for (let i = 0; i < 3; i++) await small.open(((clock += 10), small.seal(alice, i)), alice)
    assert.equal(guard.size, 3)
    assert.equal(await refusedFor(small.open(first, alice)), 'forgotten')
    assert.equal(await small.open(small.seal(bob, 'b'), bob), 'b')
    assert.equal(guard.size, 4)
  })

  it('a floor covers the tokens minted before the forgotten one, whatever their lifetime (review: one 24-hour token set a floor that refused new 5-minute ones for a day)', async () => {
    const guard = new MemoryReplayGuard(3, 100, 0)
    const small = new RequestStateSealer(key, {now, ttlMs: 300_000, replay: guard})
    const long = small.seal(alice, 'long', 24 * 3_600_000)
    await small.open(long, alice)
    clock += 60_000
    for (let i = 0; i < 3; i++) await small.open(((clock += 10), small.seal(alice, i)), alice)
    assert.equal(await refusedFor(small.open(long, alice)), 'forgotten', 'the forgotten 24-hour token stays refused')
    clock += 3_600_000
    assert.equal(await refusedFor(small.open(long, alice)), 'forgotten', 'for as long as it lives')
    assert.equal(await small.open(small.seal(alice, 'fresh'), alice), 'fresh', 'a token minted since opens')
  })

  it('each forgotten token keeps its own floor: one of 5 minutes forgotten after one of 24 hours does not refuse for 24 hours (review)', async () => {
    const guard = new MemoryReplayGuard(2, 100, 0)
    const small = new RequestStateSealer(key, {now, ttlMs: 300_000, replay: guard})
    const day = 24 * 3_600_000
    const long = small.seal(alice, 'long', day)
    clock += 10
    const between = small.seal(alice, 'between', day)
    clock += 10
    const short = small.seal(alice, 'short')
    await small.open(long, alice)
    await small.open(short, alice)
    await small.open(((clock += 10), small.seal(alice, 'a')), alice)
    await small.open(((clock += 10), small.seal(alice, 'b')), alice)
    assert.equal(await refusedFor(small.open(between, alice)), 'forgotten', 'minted before the short one forgotten')
    clock += 600_000
    assert.equal(await refusedFor(small.open(long, alice)), 'forgotten', 'the 24-hour one stays refused')
    assert.equal(await small.open(between, alice), 'between', 'once the short one is long expired, its floor is gone')
  })

  it('a token swept as expired stays refused when the clock steps back a little (review)', async () => {
    const guard = new MemoryReplayGuard(1, 100, 0)
    const small = new RequestStateSealer(key, {now, ttlMs: 1000, replay: guard})
    const once = small.seal(alice, 'once')
    await small.open(once, alice)
    clock += 1001
    await small.open(small.seal(alice, 'other'), alice)
    clock -= 500
    assert.notEqual(await refusedFor(small.open(once, alice)), undefined)
  })

  it('takes its key from the vault, created once and kept', () => {
    const data = emptyData()
    assert.equal(requestStateKeyOf(data), undefined)
    const created = ensureRequestStateKey(data)
    assert.equal(created.length, 32)
    assert.deepEqual(requestStateKeyOf(data), created)
    assert.deepEqual(ensureRequestStateKey(data), created)
    assert.throws(() => new RequestStateSealer(Buffer.alloc(16)), /32 bytes/)
  })
})
