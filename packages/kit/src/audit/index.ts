export { AuditLog } from './audit-log.js';
export { type AuditEvent, type AuditRecord, GENESIS } from './record.js';
export { type VerifyResult, verifyAuditFile, verifyAuditText } from './verify.js';
