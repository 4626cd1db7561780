export {DEFAULT_PREFIX, parseKey, SCANNER_REGEX} from './format.js'
export {formatRate, parseDuration, parseRate, parseTime} from './limits.js'
export type {KeyRecord, RateLimit} from './record.js'
export {
  changeScopes,
  checkKeyName,
  createKey,
  findKey,
  importSeedKeys,
  keyCounts,
  keyStatus,
  keysOf,
  revokeKey,
  rotateKey,
  viewKey,
  type IssuedKey,
  type KeyStatus,
  type KeyView,
  type NewKeyOptions,
  type SeedKeyFile,
} from './store.js'
export {KeyIndex, VERIFY_ERROR, type VerifyCode, type VerifyResult} from './verify.js'
