/**
 * Keys: listed without hashes (`viewKey`), changed as the CLI changes them (the same functions
 * of src/keys, through updateVault), each change audited. A new or rotated key is in one answer
 * only; if that answer could not be sent, the change is undone, as the CLI undoes a key it
 * could not print, and it is audited only once sent.
 */
import {KeywardError} from '../../errors/index.js'
import {changeScopes, createKey, findKey, keysOf, parseDuration, parseTime, revokeKey, rotateKey, undoRotation, viewKey} from '../../keys/index.js'
import {parseRate} from '../../ratelimit/rate.js'
import {previewScopes} from '../data/catalog.js'
import {stringField, stringList, type Handler} from './context.js'

export const listKeys: Handler = async (state) => {
  const data = await state.vault.data()
  const keys = [...keysOf(data).values()].map((r) => viewKey(r)).sort((a, b) => a.name.localeCompare(b.name))
  return {body: {keys}}
}

export const generateKey: Handler = async (state, req) => {
  const name = stringField(req.body, 'name')
  const scopes = stringList(req.body, 'scopes')
  const expires = stringField(req.body, 'expires', true)
  const rate = stringField(req.body, 'rate', true)
  const options = {
    name,
    scopes,
    description: stringField(req.body, 'description', true),
    expires: expires ? parseTime(expires, 'expires') : undefined,
    rateLimit: rate ? parseRate(rate) : undefined,
  }
  const {result} = await state.vault.update((vault) => createKey(vault.data, options))
  const view = viewKey(result.record)
  return {
    status: 201,
    body: {key: result.key, record: view},
    delivered: () => state.vault.audit({event: 'key.generate', key: view.id, name: view.name, scopes: view.scopes}),
    undelivered: () => state.vault.update((vault) => keysOf(vault.data).delete(view.id)),
  }
}

export const revoke: Handler = async (state, req) => {
  const target = findKey(await state.vault.data(), req.params.id)
  // The typed confirmation is checked here too: the page is not the only thing that can post.
  if (stringField(req.body, 'confirm', true) !== target.name) {
    throw new KeywardError('INVALID_INPUT', `type the key's name (${target.name}) to confirm; nothing was changed`)
  }
  const reason = stringField(req.body, 'reason', true)
  const {result} = await state.vault.update((vault) => revokeKey(vault.data, target.id, reason))
  await state.vault.audit({event: 'key.revoke', key: result.id, name: result.name, ...(reason ? {reason} : {})})
  return {body: {key: viewKey(result)}}
}

export const setScopes: Handler = async (state, req) => {
  const scopes = stringList(req.body, 'scopes')
  const {result, written} = await state.vault.update((vault) => changeScopes(vault.data, req.params.id, {set: scopes}))
  if (written) await state.vault.audit({event: 'key.scope', key: result.record.id, name: result.record.name, before: result.before, after: result.after})
  return {body: {key: viewKey(result.record), before: result.before, after: result.after, changed: written}}
}

export const rotate: Handler = async (state, req) => {
  const graceMs = parseDuration(stringField(req.body, 'grace', true) ?? '0', 'grace')
  const {result} = await state.vault.update((vault) => rotateKey(vault.data, req.params.id, graceMs))
  const {key, record, replaced} = result
  const view = viewKey(record)
  return {
    body: {key, record: view},
    delivered: () => state.vault.audit({event: 'key.rotate', key: view.id, name: view.name, grace_seconds: graceMs / 1000}),
    // The old secret only: a revocation or scope change made meanwhile (by the CLI, say) stays.
    undelivered: () => state.vault.update((vault) => void undoRotation(vault.data, view.id, record.secret, replaced)),
  }
}

/** Which tools, prompts and resources `scopes` would allow: changes nothing. */
export const preview: Handler = async (state, req) => {
  const scopes = stringList(req.body, 'scopes')
  const data = await state.vault.data()
  void state.catalog.testUntested(data).catch(() => {})
  return {body: previewScopes(scopes, await state.catalog.items(data))}
}
