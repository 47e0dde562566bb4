import { createHash } from 'node:crypto';
import { stableJson } from '@flotilla/policy';

/** What a caller says about a security event. */
export interface AuditEvent {
  /** Who: a user subject, a client id, a SPIFFE id, or `anonymous`. */
  actor: string;
  /** What, as `<area>.<verb>`: `cert.issue`, `login.failure`, `policy.deny`. */
  action: string;
  /** On what: a resource name, serial, route. */
  target?: string;
  outcome: 'success' | 'failure' | 'denied';
  reason?: string;
  details?: Record<string, unknown>;
}

/** A record as written: the event plus when, where, and its place in the chain. */
export interface AuditRecord extends AuditEvent {
  seq: number;
  time: string;
  service: string;
  requestId?: string;
  traceId?: string;
  /** Hash of the previous record (`GENESIS` for the first). */
  prev: string;
  /** SHA-256 over `prev` and the canonical JSON of every other field. */
  hash: string;
}

export const GENESIS = '0'.repeat(64);

export function hashRecord(record: Omit<AuditRecord, 'hash'>): string {
  return createHash('sha256').update(record.prev).update('\n').update(canonical(record)).digest('hex');
}

/**
 * The record as JSON with its keys sorted, so the same record always hashes the same
 * whatever order its fields were written in. Values JSON cannot hold as they are (a
 * `Date` in `details`, say) are hashed as the file holds them, after `JSON.stringify`,
 * so that `verifyAuditText` rehashes exactly what was hashed.
 */
function canonical(record: Omit<AuditRecord, 'hash'>): string {
  return stableJson(record) ?? stableJson(JSON.parse(JSON.stringify(record))) ?? 'null';
}
