/**
 * The tamper-evident audit log: HMAC-chained JSON Lines, one log per vault, a MACed head file,
 * rotation by size into compressed segments, retention behind a MACed checkpoint (dropping only
 * on evidence that needs the key: retention-evidence.ts).
 *
 * Reading (for commands and the console): `auditRecords(file, {order: 'oldest-first' |
 * 'newest-first', filter})` iterates every record across all segments, compressed or not;
 * `tailRecords` and `followRecords` (by sequence number) serve `audit tail`. Checking:
 * `verifyAudit`. Each reads a snapshot of the files (`openChain`: opened under the write lock),
 * never names that a rotation may move. Writing: `AuditLog`.
 * Paths: `resolveAuditPath(flag, configured, vaultId)` is the one rule every writer and reader uses.
 */
export {AuditLog, AuditWriteError, type AuditLogOptions} from './writer.js'
export {auditKeyOf, ensureAuditKey} from './key.js'
export {checkpointPath, defaultAuditPath, headPath, listSegments, resolveAuditPath, segmentPath, sharedLogNote, startedMarkerPath, SHARED_LOG_FILE, type Segment} from './files.js'
export {chainFiles, openChain, type ChainSnapshot} from './snapshot.js'
export {auditRecords, followRecords, lastRecords, matches, tailRecords, type ReadOptions, type RecordFilter} from './read.js'
export {GENESIS, openRecord, sealRecord, type AuditEvent, type AuditRecord} from './record.js'
export {parseRetention, RETENTION_HELP, type Retention} from './retention.js'
export {verifyAudit, type Breakage, type VerifyOptions, type VerifyReport} from './verify.js'
export {clientText, principalFields} from './fields.js'
