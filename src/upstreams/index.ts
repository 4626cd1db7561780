export {
  checkUpstreamName,
  checkUrl,
  ENV_NAME_PATTERN,
  isOAuthUpstream,
  isUnattended,
  looksLikeToken,
  parseEnvSpec,
  parseHeaderSpec,
  secretsOf,
  UPSTREAM_NAME_PATTERN,
  type EnvValue,
  type HttpUpstream,
  type IdentityProvider,
  type OAuthGrant,
  type OAuthUpstream,
  type StdioUpstream,
  type UpstreamDefinition,
  type UpstreamOAuth,
} from './definition.js'
export {BASE_ENV, baseEnvironment, upstreamEnvironment, upstreamHeaders, type ResolvedEnv} from './environment.js'
export {addUpstream, findUpstream, listUpstreams, missingSecrets, removeUpstream, upstreamsOf} from './store.js'
