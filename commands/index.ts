/**
 * Every command, by id: oclif's "explicit" command discovery. The build bundles this module,
 * with @oclif/core, into one file (see scripts/bundle.mjs), so a command starts without
 * resolving and compiling hundreds of small modules.
 */
import AuditTail from './audit/tail.js'
import AuditVerify from './audit/verify.js'
import ConfigGet from './config/get.js'
import ConfigList from './config/list.js'
import ConfigSet from './config/set.js'
import ConfigUnset from './config/unset.js'
import ImportConfig from './import-config.js'
import Init from './init.js'
import KeysGenerate from './keys/generate.js'
import KeysImport from './keys/import.js'
import KeysList from './keys/list.js'
import KeysRevoke from './keys/revoke.js'
import KeysRotate from './keys/rotate.js'
import KeysScope from './keys/scope.js'
import KeysShow from './keys/show.js'
import KeysVerify from './keys/verify.js'
import SecretsGet from './secrets/get.js'
import SecretsList from './secrets/list.js'
import SecretsRm from './secrets/rm.js'
import SecretsSet from './secrets/set.js'
import Run from './run.js'
import Serve from './serve.js'
import Status from './status.js'
import Ui from './ui.js'
import Up from './up.js'
import UpstreamAdd from './upstream/add.js'
import UpstreamApprove from './upstream/approve.js'
import UpstreamDiff from './upstream/diff.js'
import UpstreamList from './upstream/list.js'
import UpstreamLogin from './upstream/login.js'
import UpstreamLogout from './upstream/logout.js'
import UpstreamPins from './upstream/pins.js'
import UpstreamRm from './upstream/rm.js'
import UpstreamScan from './upstream/scan.js'
import UpstreamSet from './upstream/set.js'
import UpstreamShow from './upstream/show.js'
import UpstreamTest from './upstream/test.js'
import VaultPasswd from './vault/passwd.js'
import VaultRestore from './vault/restore.js'
import VaultRotate from './vault/rotate.js'
import VaultStatus from './vault/status.js'

export const COMMANDS = {
  init: Init,
  'import-config': ImportConfig,
  up: Up,
  ui: Ui,
  serve: Serve,
  status: Status,
  run: Run,
  'vault:status': VaultStatus,
  'vault:passwd': VaultPasswd,
  'vault:rotate': VaultRotate,
  'vault:restore': VaultRestore,
  'secrets:set': SecretsSet,
  'secrets:get': SecretsGet,
  'secrets:list': SecretsList,
  'secrets:rm': SecretsRm,
  'config:set': ConfigSet,
  'audit:verify': AuditVerify,
  'audit:tail': AuditTail,
  'config:get': ConfigGet,
  'config:unset': ConfigUnset,
  'config:list': ConfigList,
  'keys:generate': KeysGenerate,
  'keys:list': KeysList,
  'keys:show': KeysShow,
  'keys:revoke': KeysRevoke,
  'keys:scope': KeysScope,
  'keys:rotate': KeysRotate,
  'keys:verify': KeysVerify,
  'keys:import': KeysImport,
  'upstream:add': UpstreamAdd,
  'upstream:list': UpstreamList,
  'upstream:login': UpstreamLogin,
  'upstream:logout': UpstreamLogout,
  'upstream:show': UpstreamShow,
  'upstream:rm': UpstreamRm,
  'upstream:test': UpstreamTest,
  'upstream:set': UpstreamSet,
  'upstream:diff': UpstreamDiff,
  'upstream:approve': UpstreamApprove,
  'upstream:pins': UpstreamPins,
  'upstream:scan': UpstreamScan,
}

/** The bundle's entry points for bin/run.js: oclif's runner from the same bundled copy of @oclif/core. */
export {flush, run} from '@oclif/core'
export {reportTopLevelError} from '../src/cli/base.js'
