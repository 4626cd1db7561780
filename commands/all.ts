/**
 * Every command class, loaded: what oclif.manifest.json is made from at build time
 * (scripts/manifest.mjs). At run time commands/index.ts loads only the command that runs.
 */
import {LOADERS} from './index.js'

export const COMMANDS = Object.fromEntries(await Promise.all(Object.entries(LOADERS).map(async ([id, load]) => [id, (await load()).default])))
