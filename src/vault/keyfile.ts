import {randomBytes} from 'node:crypto'

import {KeywardError} from '../errors/index.js'
import {decodeBase64} from './crypto.js'
import {createPrivateFile, readPrivateFile} from './file.js'
import {KEY_FILE_BYTES, KeyMaterial} from './slots.js'

/** Reads a key file: 32 bytes, stored raw or as one line of base64. */
export async function loadKeyFile(file: string): Promise<KeyMaterial> {
  const bytes = await readPrivateFile(file, 'key file')
  const key = bytes.length === KEY_FILE_BYTES ? bytes : decodeBase64(bytes.toString('latin1').trim())
  if (key?.length !== KEY_FILE_BYTES) {
    throw new KeywardError('INVALID_INPUT', `${file} is not a keyward key file (expected ${KEY_FILE_BYTES} random bytes, raw or base64)`)
  }
  return new KeyMaterial({kind: 'keyfile', key, origin: file})
}

/** Creates a new key file (0600, never over an existing file) and returns its material. */
export async function createKeyFile(file: string): Promise<KeyMaterial> {
  const key = randomBytes(KEY_FILE_BYTES)
  await createPrivateFile(file, Buffer.from(key.toString('base64') + '\n'), 'key file')
  return new KeyMaterial({kind: 'keyfile', key, origin: file})
}
