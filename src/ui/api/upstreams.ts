/** Upstreams: their definitions (secret references, never values), their state, and `upstream test` from the page. */
import {viewUpstream} from '../../cli/upstreams.js'
import {listUpstreams} from '../../upstreams/index.js'
import {approvePins, pinDiff} from '../data/pins.js'
import type {Handler} from './context.js'

export const listAll: Handler = async (state) => {
  const data = await state.vault.data()
  void state.catalog.testUntested(data).catch(() => {})
  const states = new Map(state.catalog.list(data).map((s) => [s.name, s]))
  const upstreams = listUpstreams(data).map((def) => ({...viewUpstream(def), ...states.get(def.name)}))
  return {body: {upstreams}}
}

export const test: Handler = async (state, req) => {
  const data = await state.vault.data()
  return {body: await state.catalog.test(data, req.params.name)}
}

export const pins: Handler = async (state, req) => ({body: pinDiff(await state.vault.data(), req.params.name)})

export const approve: Handler = async (state, req) => ({body: await approvePins(await state.vault.data(), req.params.name)})
