import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { currentTrace } from '../observability/trace.js';
import { type AuditEvent, type AuditRecord, GENESIS, hashRecord } from './record.js';

interface Pending {
  body: Omit<AuditRecord, 'hash' | 'seq' | 'prev'>;
  resolve: (record: AuditRecord) => void;
  reject: (err: unknown) => void;
}

/**
 * An append-only, hash-chained audit trail in one JSON-lines file. Each record carries
 * the hash of the one before it, so editing, removing or reordering any record breaks
 * the chain (see `verifyAuditFile`). `append` resolves once the record is on disk.
 *
 * Group commit: records appended while a write is in flight are chained in call order
 * and written together with one write and one sync, so concurrent callers share the cost
 * of the sync instead of queueing for one each. A batch that fails rejects its callers,
 * and the chain goes on from the file's last record.
 *
 * @example
 * const audit = await AuditLog.open('.flotilla/audit/notes.jsonl', 'notes');
 * await audit.append({ actor: 'user-1', action: 'note.delete', target: 'note/7', outcome: 'success' });
 */
export class AuditLog {
  private pending: Pending[] = [];
  private flushing: Promise<void> | undefined;

  private constructor(
    private readonly path: string,
    private readonly file: FileHandle,
    private readonly service: string,
    private seq: number,
    private prev: string,
  ) {}

  /** Opens (or creates) the trail, continuing the chain from its last record. */
  static async open(path: string, service: string): Promise<AuditLog> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const last = await lastRecord(path);
    const file = await open(path, 'a', 0o600);
    return new AuditLog(path, file, service, last ? last.seq + 1 : 0, last?.hash ?? GENESIS);
  }

  /** Appends one event; resolves once it is on disk. */
  append(event: AuditEvent): Promise<AuditRecord> {
    const trace = currentTrace();
    const body = {
      ...event,
      time: new Date().toISOString(),
      service: this.service,
      ...(trace?.requestId ? { requestId: trace.requestId } : {}),
      ...(trace ? { traceId: trace.traceId } : {}),
    };
    return new Promise<AuditRecord>((resolve, reject) => {
      this.pending.push({ body, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    await this.file.close();
  }

  private async resync(): Promise<void> {
    const last = await lastRecord(this.path).catch(() => undefined);
    this.seq = last ? last.seq + 1 : this.seq;
    this.prev = last?.hash ?? this.prev;
  }

  /** Writes batches until nothing is pending. */
  private async flush(): Promise<void> {
    // Let the callers of this tick join the first batch.
    await Promise.resolve();
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      let { seq, prev } = this;
      const records = batch.map(({ body }) => {
        const chained = { ...body, seq, prev };
        const record: AuditRecord = { ...chained, hash: hashRecord(chained) };
        seq += 1;
        prev = record.hash;
        return record;
      });
      try {
        await this.file.write(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
        await this.file.datasync();
      } catch (err) {
        for (const p of batch) p.reject(err);
        // Part of the batch may be in the file: chain on from what the file really ends with.
        await this.resync();
        continue;
      }
      this.seq = seq;
      this.prev = prev;
      batch.forEach((p, i) => p.resolve(records[i]!));
    }
    this.flushing = undefined;
  }
}

async function lastRecord(path: string): Promise<AuditRecord | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const lines = text.trimEnd().split('\n').filter(Boolean);
  const line = lines.at(-1);
  if (!line) return undefined;
  try {
    return JSON.parse(line) as AuditRecord;
  } catch {
    // A torn last line: keep chaining from the file's length so verification flags it.
    return { seq: lines.length, hash: GENESIS } as AuditRecord;
  }
}
