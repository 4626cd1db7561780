/**
 * A client's private key for `private_key_jwt` (RFC 7523): a PEM key from a vault secret, and
 * the JWS algorithm its type calls for. Checked when the upstream is added, so a wrong secret is
 * a clear error then rather than a refused token request later.
 */
import {createPrivateKey, type KeyObject} from 'node:crypto'

import {KeywardError} from '../../errors/index.js'

export interface ClientKey {
  /** The private key as a JWK: what jose imports for every algorithm, EdDSA included. */
  jwk: Record<string, unknown>
  alg: string
}

function algorithmOf(key: KeyObject): string | undefined {
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return 'RS256'
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve
      return curve === 'prime256v1' ? 'ES256' : curve === 'secp384r1' ? 'ES384' : curve === 'secp521r1' ? 'ES512' : undefined
    }
    case 'ed25519':
      return 'EdDSA'
    default:
      return undefined
  }
}

/** The key in secret `name`, with its algorithm; one clear error when it is not a usable private key. */
export function clientKeyFrom(name: string, value: Buffer): ClientKey {
  let key: KeyObject
  try {
    key = createPrivateKey({key: value.toString('utf8'), format: 'pem'})
  } catch {
    throw new KeywardError('INVALID_INPUT', `secret ${name} is not a PEM private key (PKCS#8 or the older RSA/EC forms); --client-key needs the client's private key`)
  }
  const alg = algorithmOf(key)
  if (!alg) throw new KeywardError('INVALID_INPUT', `secret ${name} holds a ${key.asymmetricKeyType} key; --client-key takes an RSA, EC (P-256, P-384, P-521) or Ed25519 key`)
  return {jwk: key.export({format: 'jwk'}) as Record<string, unknown>, alg}
}
