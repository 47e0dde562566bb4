import { readFile } from 'node:fs/promises';
import { type AuditRecord, GENESIS, hashRecord } from './record.js';

export type VerifyResult =
  | { ok: true; records: number; lastHash: string }
  | { ok: false; records: number; line: number; reason: string };

/**
 * Checks every record's hash and its link to the one before.
 *
 * @example
 * const result = await verifyAuditFile('.flotilla/audit/notes.jsonl');
 * if (!result.ok) console.error(`line ${result.line}: ${result.reason}`);
 */
export async function verifyAuditFile(path: string): Promise<VerifyResult> {
  return verifyAuditText(await readFile(path, 'utf8'));
}

/**
 * `verifyAuditFile` for a trail already read: the first record that is not valid JSON,
 * out of sequence, unlinked from the one before or altered fails it.
 *
 * @example
 * verifyAuditText(await readFile(path, 'utf8')); // { ok: true, records: 4, lastHash: '…' }
 */
export function verifyAuditText(text: string): VerifyResult {
  let prev = GENESIS;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const [i, line] of lines.entries()) {
    const fail = (reason: string): VerifyResult => ({ ok: false, records: i, line: i + 1, reason });
    let record: AuditRecord;
    try {
      record = JSON.parse(line) as AuditRecord;
    } catch {
      return fail('not valid JSON');
    }
    if (record.seq !== i)
      return fail(`sequence ${record.seq} where ${i} was expected (record removed or reordered)`);
    if (record.prev !== prev) return fail('does not link to the previous record');
    const { hash, ...body } = record;
    if (hashRecord(body) !== hash) return fail('content does not match its hash (record altered)');
    prev = hash;
  }
  return { ok: true, records: lines.length, lastHash: prev };
}
