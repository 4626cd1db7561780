export {
  checkUpstreamName,
  checkUrl,
  CREDENTIAL_HEADERS,
  definitionIdentity,
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
  type UpstreamTested,
} from './definition.js'
export {credentialInArgs, credentialSpans, isCredentialName, isReference, isSecretEnvName, looksHighEntropy, maskArgs, maskCredentials} from './credentials.js'
export {BASE_ENV, baseEnvironment, upstreamEnvironment, upstreamHeaders, type ResolvedEnv} from './environment.js'
export {addUpstream, findUpstream, listUpstreams, missingSecrets, recordTested, removeUpstream, upstreamsInPrecedence, upstreamsOf} from './store.js'
export {vaultRedactor} from './redaction.js'
