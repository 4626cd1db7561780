export {
  checkUpstreamName,
  checkUrl,
  CREDENTIAL_HEADERS,
  ENV_NAME_PATTERN,
  ISOLATIONS,
  isolationOf,
  isOAuthUpstream,
  isUnattended,
  looksLikeToken,
  parseEnvSpec,
  parseHeaderSpec,
  secretsOf,
  UPSTREAM_NAME_PATTERN,
  type EnvValue,
  type HttpUpstream,
  type Isolation,
  type IdentityProvider,
  type OAuthGrant,
  type OAuthUpstream,
  type StdioUpstream,
  type UpstreamDefinition,
  type UpstreamOAuth,
} from './definition.js'
export {credentialInArgs, credentialSpans, isCredentialName, isReference, isSecretEnvName, looksHighEntropy, maskArgs, maskCredentials} from './credentials.js'
export {BASE_ENV, baseEnvironment, upstreamEnvironment, upstreamHeaders, type ResolvedEnv} from './environment.js'
export {addUpstream, findUpstream, listUpstreams, missingSecrets, removeUpstream, upstreamsInPrecedence, upstreamsOf} from './store.js'
export {vaultRedactor} from './redaction.js'
