/**
 * The SDK's `auth()`, with one allowance: authorization-server metadata whose `issuer` differs
 * from the URL it was found at only in its path, on the same origin (the MCP 2025-03-26 layout,
 * where the server's root serves the metadata of an issuer below it), is accepted. RFC 8414 3.3's
 * check guards against a document that claims to be another server's; whoever serves documents
 * at an origin controls that origin's paths anyway. Any other mismatch still fails.
 */
import {auth, IssuerMismatchError, type AuthResult, type OAuthClientProvider} from '@modelcontextprotocol/client'

type AuthOptions = Parameters<typeof auth>[1]

function sameOrigin(a: string | undefined, b: string | undefined): boolean {
  try {
    return a !== undefined && b !== undefined && new URL(a).origin === new URL(b).origin
  } catch {
    return false
  }
}

export async function authorize(provider: OAuthClientProvider, options: AuthOptions, note: (message: string) => void = () => {}): Promise<AuthResult> {
  try {
    return await auth(provider, options)
  } catch (err) {
    if (!(err instanceof IssuerMismatchError) || err.kind !== 'metadata' || !sameOrigin(err.expected, err.received)) throw err
    note(`the authorization server's metadata at ${err.expected} names issuer ${err.received} on the same origin; accepted`)
    return auth(provider, {...options, skipIssuerMetadataValidation: true})
  }
}
