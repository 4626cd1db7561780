/** Upstreams: their definitions (secret references, never values), their state, `upstream test` from the page, the pin diff and its approval. */
import {viewUpstream} from '../../cli/upstreams.js'
import {listUpstreams} from '../../upstreams/index.js'
import {recordLook} from '../../cli/pins.js'
import {approveAll, pinView} from '../data/pins.js'
import {stringField, type Handler} from './context.js'

export const listAll: Handler = async (state) => {
  const data = await state.vault.data()
  void state.catalog.testUntested(data).catch(() => {})
  const states = new Map(state.catalog.list(data).map((s) => [s.name, s]))
  const upstreams = listUpstreams(data).map((def) => ({...viewUpstream(def, data), ...states.get(def.name)}))
  return {body: {upstreams}}
}

/** `upstream test` from the page: a look, recorded against the pins as the CLI records it (first use pins; changes wait). */
export const test: Handler = async (state, req) => {
  const data = await state.vault.data()
  return {body: await state.catalog.test(data, req.params.name, (listing) => recordLook(state.vault.session, req.params.name, listing))}
}

export const pins: Handler = async (state, req) => ({body: pinView(await state.vault.data(), req.params.name)})

export const approve: Handler = async (state, req) => ({body: await approveAll(state.vault.session, await state.vault.data(), req.params.name, stringField(req.body, 'token'))})
