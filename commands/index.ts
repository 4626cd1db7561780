/**
 * Every command, by id: oclif's "explicit" command discovery. The build bundles this module,
 * with @oclif/core, into one file (see scripts/bundle.mjs), so a command starts without
 * resolving and compiling hundreds of small modules.
 *
 * Each command is imported only when it runs: every command's module (and what it imports)
 * loaded at every start cost about a quarter of the CLI's code. oclif takes what it shows in
 * help and parses from oclif.manifest.json, made at build time from the classes themselves
 * (commands/all.ts, scripts/manifest.mjs), so it needs a class here only to run it.
 */
import type {Command, Config} from '@oclif/core'

type Load = () => Promise<{default: Command.Class}>

/** The module of each command, by id. */
export const LOADERS = {
  init: () => import('./init.js'),
  'import-config': () => import('./import-config.js'),
  up: () => import('./up.js'),
  ui: () => import('./ui.js'),
  serve: () => import('./serve.js'),
  status: () => import('./status.js'),
  run: () => import('./run.js'),
  'vault:status': () => import('./vault/status.js'),
  'vault:passwd': () => import('./vault/passwd.js'),
  'vault:rotate': () => import('./vault/rotate.js'),
  'vault:restore': () => import('./vault/restore.js'),
  'secrets:set': () => import('./secrets/set.js'),
  'secrets:get': () => import('./secrets/get.js'),
  'secrets:list': () => import('./secrets/list.js'),
  'secrets:rm': () => import('./secrets/rm.js'),
  'config:set': () => import('./config/set.js'),
  'audit:verify': () => import('./audit/verify.js'),
  'audit:tail': () => import('./audit/tail.js'),
  'config:get': () => import('./config/get.js'),
  'config:unset': () => import('./config/unset.js'),
  'config:list': () => import('./config/list.js'),
  'keys:generate': () => import('./keys/generate.js'),
  'keys:list': () => import('./keys/list.js'),
  'keys:show': () => import('./keys/show.js'),
  'keys:revoke': () => import('./keys/revoke.js'),
  'keys:scope': () => import('./keys/scope.js'),
  'keys:rotate': () => import('./keys/rotate.js'),
  'keys:verify': () => import('./keys/verify.js'),
  'keys:import': () => import('./keys/import.js'),
  'upstream:add': () => import('./upstream/add.js'),
  'upstream:list': () => import('./upstream/list.js'),
  'upstream:login': () => import('./upstream/login.js'),
  'upstream:logout': () => import('./upstream/logout.js'),
  'upstream:show': () => import('./upstream/show.js'),
  'upstream:rm': () => import('./upstream/rm.js'),
  'upstream:test': () => import('./upstream/test.js'),
  'upstream:set': () => import('./upstream/set.js'),
  'upstream:diff': () => import('./upstream/diff.js'),
  'upstream:approve': () => import('./upstream/approve.js'),
  'upstream:pins': () => import('./upstream/pins.js'),
  'upstream:scan': () => import('./upstream/scan.js'),
} satisfies Record<string, Load>

/**
 * What oclif needs of a command it runs: a static `run`, which loads the class and runs it under
 * the id and plugin oclif gave this stand-in (the class's own id would be its name).
 */
function lazyCommand(load: Load) {
  return {
    async run(this: {id?: string; plugin?: Command.Class['plugin']}, argv: string[], config: Config): Promise<unknown> {
      const {default: command} = await load()
      command.id = this.id!
      command.plugin = this.plugin
      return command.run(argv, config)
    },
  }
}

export const COMMANDS = Object.fromEntries(Object.entries(LOADERS).map(([id, load]) => [id, lazyCommand(load)]))

/** The bundle's entry points for bin/run.js: oclif's runner from the same bundled copy of @oclif/core. */
export {flush, run} from '@oclif/core'
export {reportTopLevelError} from '../src/cli/base.js'
