/** Secrets: names, descriptions, sizes and dates; a value goes in, and never comes back out. */
import {checkSecretName, checkSecretValue, listSecrets, setSecret} from '../../secrets/index.js'
import {stringField, type Handler} from './context.js'

export const listAll: Handler = async (state) => {
  const data = await state.vault.data()
  const secrets = listSecrets(data).map((s) => ({...s, size: data.secrets.get(s.name)!.value.length}))
  return {body: {secrets}}
}

export const set: Handler = async (state, req) => {
  const name = stringField(req.body, 'name')
  checkSecretName(name)
  // The page's password field holds text; it is stored as its UTF-8 bytes, as typed.
  const value = checkSecretValue(Buffer.from(stringField(req.body, 'value'), 'utf8'), 'the form')
  const description = stringField(req.body, 'description', true)
  const {result} = await state.vault.update((vault) => setSecret(vault.data, name, value, description))
  await state.vault.audit({event: 'secret.set', secret: name, created: result.created})
  return {status: result.created ? 201 : 200, body: {created: result.created, secret: {...result.secret, size: value.length}}}
}
