export {DEFAULT_PREFIX, KEY_IN_TEXT, KEY_LINE_ROOM, KEY_START, KEY_TAIL, parseKey, SCANNER_REGEX} from './format.js'
export {parseDuration, parseTime} from './times.js'
export type {KeyRecord, KeySecret} from './record.js'
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
  undoRotation,
  viewKey,
  type IssuedKey,
  type KeyStatus,
  type KeyView,
  type NewKeyOptions,
  type Replaced,
  type SeedKeyFile,
} from './store.js'
export {KeyIndex, VERIFY_ERROR, type VerifyCode, type VerifyResult} from './verify.js'
