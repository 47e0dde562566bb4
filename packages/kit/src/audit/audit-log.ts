import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { currentTrace } from '../trace.js';
import { type AuditEvent, type AuditRecord, GENESIS, hashRecord } from './record.js';

/**
 * An append-only, hash-chained audit trail in one JSON-lines file. Each record carries
 * the hash of the one before it, so editing, removing or reordering any record breaks
 * the chain (see `verifyAuditFile`). Writes are serialised and flushed to disk before
 * `append` resolves.
 */
export class AuditLog {
  private constructor(
    private readonly file: FileHandle,
    private readonly service: string,
    private seq: number,
    private prev: string,
  ) {}

  private queue: Promise<unknown> = Promise.resolve();

  /** Opens (or creates) the trail, continuing the chain from its last record. */
  static async open(path: string, service: string): Promise<AuditLog> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const last = await lastRecord(path);
    const file = await open(path, 'a', 0o600);
    return new AuditLog(file, service, last ? last.seq + 1 : 0, last?.hash ?? GENESIS);
  }

  /** Appends one event; resolves once it is on disk. */
  append(event: AuditEvent): Promise<AuditRecord> {
    const result = this.queue.then(() => this.write(event));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async write(event: AuditEvent): Promise<AuditRecord> {
    const trace = currentTrace();
    const body: Omit<AuditRecord, 'hash'> = {
      ...event,
      seq: this.seq,
      time: new Date().toISOString(),
      service: this.service,
      ...(trace?.requestId ? { requestId: trace.requestId } : {}),
      ...(trace ? { traceId: trace.traceId } : {}),
      prev: this.prev,
    };
    const record: AuditRecord = { ...body, hash: hashRecord(body) };
    await this.file.write(`${JSON.stringify(record)}\n`);
    await this.file.datasync();
    this.seq += 1;
    this.prev = record.hash;
    return record;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.file.close();
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
