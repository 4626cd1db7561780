/** Client addresses against lists of networks (IPv4 and IPv6), with IPv4-mapped IPv6 peers read as IPv4. */
import {BlockList, isIP, isIPv4} from 'node:net'

export interface Network {
  address: string
  prefix: number
  family: 'ipv4' | 'ipv6'
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '[::1]'])

/** A host name or address that only this machine reaches. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** An IPv4 or IPv6 network, `10.0.0.0/8` or a single address. */
export function parseCidr(value: string): Network | undefined {
  const [address, bits] = value.trim().split('/')
  const version = isIP(address)
  if (version === 0) return undefined
  const max = version === 4 ? 32 : 128
  const prefix = bits === undefined ? max : Number(bits)
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) return undefined
  return {address, prefix, family: version === 4 ? 'ipv4' : 'ipv6'}
}

/** `::ffff:10.0.0.1`, as a dual-stack socket reports an IPv4 peer, is 10.0.0.1. */
export function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return mapped ? mapped[1] : address
}

export class AddressList {
  private readonly list = new BlockList()
  readonly size: number

  constructor(networks: readonly Network[]) {
    for (const n of networks) {
      const plain = plainAddress(n.address)
      // An IPv4-mapped network (::ffff:10.0.0.0/104) is the IPv4 network it maps.
      if (isIPv4(plain) && n.family === 'ipv6') this.list.addSubnet(plain, Math.max(0, n.prefix - 96), 'ipv4')
      else this.list.addSubnet(plain, n.prefix, n.family)
    }
    this.size = networks.length
  }

  /** From networks as written (`10.0.0.0/8`, `fd00::/8`), checked already: one that does not parse is left out. */
  static parse(items: readonly string[]): AddressList {
    return new AddressList(items.map((c) => parseCidr(c)).filter((n): n is Network => n !== undefined))
  }

  has(address: string | undefined): boolean {
    if (!address) return false
    const plain = plainAddress(address)
    return this.list.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6')
  }
}

/**
 * The key a client address is counted under: an IPv4 address as it is, an IPv6 address by its
 * /64 network, since one host commonly holds a whole /64 and could otherwise count as millions.
 */
export function peerKey(address: string | undefined): string {
  if (!address) return 'unknown'
  const plain = plainAddress(address)
  if (isIPv4(plain)) return plain
  const [head, tail = ''] = plain.split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const groups = plain.includes('::') ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '').toLowerCase()).join(':')}::/64`
}
