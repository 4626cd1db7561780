/**
 * Settings whose value opens something up: turns a protection off, or trusts callers it should
 * not. `keyward config set` asks for confirmation (or `--yes`) before storing one, and says what
 * it opens. The rule looks at the value being set, not at the change from the one before, so
 * `config unset` (back to a default, and no default opens anything) never asks.
 *
 * Its own module, beside the checks of `settings.ts`: a value is first checked, then judged here.
 */
import {parseCidr} from '../net/addresses.js'
import {splitPatternList} from '../guard/patterns.js'
import {parseDurationValue, splitList} from './settings.js'

/**
 * Networks that are not on the public internet: the operator's own (RFC 1918, CGNAT, ULA),
 * loopback and link-local. Trusting a whole private network is an ordinary choice (a cluster's
 * pod network); trusting a wide public one lets strangers in.
 */
const NON_PUBLIC = ['10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16', '::1/128', 'fc00::/7', 'fe80::/10']

/** A public network wider than this (fewer prefix bits) holds other people's hosts: a proxy is one or a few addresses. */
const WIDEST_PUBLIC = {ipv4: 24, ipv6: 64} as const
/** Clock skew beyond this accepts tokens that have plainly expired. */
const LONGEST_SKEW_MS = 5 * 60_000

interface Net {
  family: 'ipv4' | 'ipv6'
  bits: bigint
  prefix: number
}

function ipv4Bits(address: string): bigint {
  return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n)
}

function ipv6Bits(address: string): bigint {
  let text = address.toLowerCase()
  // An IPv4 tail (::ffff:10.0.0.1) is two groups.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (tail) {
    const v4 = ipv4Bits(tail[1])
    text = `${text.slice(0, tail.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`
  }
  const [head, rest] = text.split('::')
  const left = head ? head.split(':') : []
  const right = rest ? rest.split(':') : []
  const groups = rest === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n)
}

/** A network as numbers; an IPv4-mapped IPv6 network (::ffff:0:0/96 and narrower) is the IPv4 network it maps, as AddressList reads it. */
function network(cidr: string): Net | undefined {
  const parsed = parseCidr(cidr)
  if (!parsed) return undefined
  if (parsed.family === 'ipv4') return {family: 'ipv4', bits: ipv4Bits(parsed.address), prefix: parsed.prefix}
  const bits = ipv6Bits(parsed.address)
  if (parsed.prefix >= 96 && bits >> 32n === 0xffffn) return {family: 'ipv4', bits: bits & 0xffffffffn, prefix: parsed.prefix - 96}
  return {family: 'ipv6', bits, prefix: parsed.prefix}
}

function within(inner: Net, outer: Net): boolean {
  if (inner.family !== outer.family || inner.prefix < outer.prefix) return false
  const shift = BigInt((inner.family === 'ipv4' ? 32 : 128) - outer.prefix)
  return inner.bits >> shift === outer.bits >> shift
}

const NON_PUBLIC_NETS = NON_PUBLIC.map((c) => network(c)!)

/** The networks of a list that take in a wide part of the public internet: 0.0.0.0/0, ::/0, a public /8, … */
export function widePublicNetworks(cidrs: string): string[] {
  return splitList(cidrs).filter((c) => {
    const net = network(c)
    if (!net || NON_PUBLIC_NETS.some((p) => within(net, p))) return false
    return net.prefix < WIDEST_PUBLIC[net.family]
  })
}

/** key -> what its value opens up, in words a user can weigh; undefined when it opens nothing. */
const OPENINGS: Readonly<Record<string, (value: string) => string | undefined>> = {
  'auth.methods': (v) => (v === 'none' ? 'turns authentication off: every caller that reaches the server gets every tool, prompt and resource (a server on loopback only)' : undefined),
  'proxy.trusted-cidrs': (v) => {
    const wide = widePublicNetworks(v)
    return wide.length > 0
      ? `trusts identity headers from ${wide.join(', ')}: any host there that reaches keyward can claim to be any user, with that user's scopes (a public network wider than /${WIDEST_PUBLIC.ipv4} for IPv4 or /${WIDEST_PUBLIC.ipv6} for IPv6)`
      : undefined
  },
  'guard.patterns': (v) => (splitPatternList(v).includes('none') ? "turns the input guard's patterns off: path traversal, <script, SQL union and eval( in arguments reach the tools" : undefined),
  'guard.redact': (v) => (v === 'false' ? 'turns secret redaction off: vault secrets and tokens in tool results, errors and upstream messages reach clients as they are' : undefined),
  'oauth.clock-skew': (v) => ((parseDurationValue(v) ?? 0) > LONGEST_SKEW_MS ? `accepts OAuth tokens up to ${v} after they expire (more than ${LONGEST_SKEW_MS / 60_000} minutes)` : undefined),
}

/** What setting `key` to `value` (already checked and normalised) opens up; undefined when nothing. */
export function openingOf(key: string, value: string): string | undefined {
  return OPENINGS[key]?.(value)
}
