/**
 * Loaded before the unit tests (mocharc.json `require`): they open and write vaults and audit
 * logs in this process, and what keyward remembers per user (the rollback ledger, the audit
 * markers under $XDG_STATE_HOME/keyward) goes to a directory of this run's own, not into the
 * developer's real state, where thousands of test vaults piled up in the ledger every machine reads.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const state = mkdtempSync(path.join(os.tmpdir(), 'keyward-unit-state-'))
process.env.XDG_STATE_HOME = state
process.on('exit', () => rmSync(state, {recursive: true, force: true}))
