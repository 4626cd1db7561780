/** The tamper-evident audit log: HMAC-chained JSON Lines, a MACed head file, rotation by size. */
export {AuditLog, AuditWriteError, type AuditLogOptions} from './writer.js'
export {auditKeyOf, ensureAuditKey} from './key.js'
export {chainFiles, headPath, resolveAuditPath, segmentPath} from './files.js'
export {followRecords, lastRecords, matches, type RecordFilter} from './read.js'
export {GENESIS, openRecord, sealRecord, type AuditEvent, type AuditRecord} from './record.js'
export {verifyAudit, type Breakage, type VerifyReport} from './verify.js'
export {clientText, principalFields} from './fields.js'
