import type { AuditEvent, Db } from '@flotilla/kit';
import type { EncryptionContext, UsageRecord } from '@flotilla/kit/contracts';
import type { KmsMetrics } from './metrics.js';

/** One use of a key, as the monitor receives it. */
export interface KeyUse {
  caller: string;
  key: string;
  keyVersion: number | null;
  operation: string;
  context: EncryptionContext;
  outcome: UsageRecord['outcome'];
  reason?: string;
  details?: Record<string, unknown>;
}

/** Operations that use key material; administration (rotate, describe, …) is recorded but is not "using" a key. */
const CRYPTO_OPERATIONS = new Set(['Encrypt', 'Decrypt', 'GenerateDataKey', 'GenerateDataKeys', 'ReEncrypt']);
const DECRYPTS = new Set(['Decrypt', 'ReEncrypt']);
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

export interface UsageLogOptions {
  db: Db;
  audit: (event: AuditEvent) => Promise<unknown>;
  metrics: KmsMetrics;
  windowDays: number;
  denialBurst: number;
  now: () => Date;
  /** A batch of usage rows that could not be written (the audit records of those uses stand). */
  onError: (err: unknown) => void;
}

type UsageRow = [Date, string, string, number | null, string, string, string];
const ROWS_PER_INSERT = 500;

/**
 * Key-usage monitoring (CloudTrail's key-usage records, with a detector on top): every use
 * is an audit record, a usage row and a metric. A caller that uses a key it has not used
 * within the window — while the key has been used before (by it or anyone) — and a burst
 * of decrypt denials on one key raise `kms.anomaly`.
 */
export class UsageLog {
  /** `key caller` → last successful crypto use seen by this instance (ms); saves a query per use. */
  readonly #recent = new Map<string, number>();
  /** `key` → denials in the current minute, and whether this minute's burst was reported. */
  readonly #denials = new Map<string, { minute: number; count: number; reported: boolean }>();
  /** Usage rows not yet written: written together, in the background (group commit). */
  readonly #pending: UsageRow[] = [];
  #writing: Promise<void> | undefined;

  constructor(private readonly o: UsageLogOptions) {}

  async record(use: KeyUse): Promise<void> {
    const at = this.o.now();
    const anomaly =
      use.outcome === 'success' && CRYPTO_OPERATIONS.has(use.operation) && (await this.isNewCaller(use, at));
    // The audit record below is the durable one (answered after it is on disk); the usage
    // row that `flotilla kms usage` reads is written with others, so that every use does not
    // cost a database commit of its own.
    this.#pending.push([
      at,
      use.caller,
      use.key,
      use.keyVersion,
      use.operation,
      JSON.stringify(use.context),
      use.outcome,
    ]);
    this.#write();
    this.o.metrics.operations.inc({
      key: use.key,
      caller: use.caller,
      operation: use.operation,
      outcome: use.outcome,
    });
    await this.o.audit({
      actor: use.caller,
      action: `kms.${use.operation}`,
      target: `Key::"${use.key}"`,
      outcome: use.outcome,
      ...(use.reason ? { reason: use.reason } : {}),
      details: { keyVersion: use.keyVersion, context: use.context, ...use.details },
    });
    if (anomaly)
      await this.raise(
        use,
        'new-caller',
        `${use.caller} has not used ${use.key} in ${this.o.windowDays} days`,
      );
    if (use.outcome !== 'success' && DECRYPTS.has(use.operation)) await this.countDenial(use, at);
  }

  /** An audit record for a call that uses no one key (ListKeys). */
  note(event: AuditEvent): Promise<unknown> {
    return this.o.audit(event);
  }

  /** Resolves once every usage row recorded so far is written. */
  async flush(): Promise<void> {
    while (this.#writing || this.#pending.length > 0) {
      this.#write();
      await this.#writing;
    }
  }

  async list(key: string, since: Date, limit: number): Promise<UsageRecord[]> {
    await this.flush();
    const { rows } = await this.o.db.query<{
      at: Date | string;
      caller: string;
      key_name: string;
      key_version: number | null;
      operation: string;
      context: EncryptionContext | string;
      outcome: UsageRecord['outcome'];
    }>(
      `SELECT at, caller, key_name, key_version, operation, context, outcome FROM kms_usage
       WHERE key_name = $1 AND at >= $2 ORDER BY at DESC, id DESC LIMIT $3`,
      [key, since, limit],
    );
    return rows.map((r) => ({
      time: new Date(r.at).toISOString(),
      caller: r.caller,
      key: r.key_name,
      keyVersion: r.key_version,
      operation: r.operation,
      context: typeof r.context === 'string' ? (JSON.parse(r.context) as EncryptionContext) : r.context,
      outcome: r.outcome,
    }));
  }

  /** Whether this use is the caller's first within the window on a key that has been used before. */
  private async isNewCaller(use: KeyUse, at: Date): Promise<boolean> {
    const id = `${use.key} ${use.caller}`;
    const windowStart = at.getTime() - this.o.windowDays * DAY_MS;
    const seen = this.#recent.get(id);
    this.#recent.set(id, at.getTime());
    if (seen !== undefined && seen >= windowStart) return false;
    await this.flush();
    const ops = [...CRYPTO_OPERATIONS];
    const { rows } = await this.o.db.query<{ mine: boolean; any: boolean }>(
      `SELECT
         EXISTS (SELECT 1 FROM kms_usage WHERE key_name = $1 AND caller = $2 AND outcome = 'success'
                 AND operation = ANY($3) AND at >= $4) AS mine,
         EXISTS (SELECT 1 FROM kms_usage WHERE key_name = $1 AND outcome = 'success'
                 AND operation = ANY($3)) AS any`,
      [use.key, use.caller, ops, new Date(windowStart)],
    );
    const row = rows[0];
    return row !== undefined && !row.mine && row.any;
  }

  #write(): void {
    this.#writing ??= this.#drain().finally(() => {
      this.#writing = undefined;
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const rows = this.#pending.splice(0, ROWS_PER_INSERT);
      const values = rows.map((_, r) => `(${[1, 2, 3, 4, 5, 6, 7].map((c) => `$${r * 7 + c}`).join(', ')})`);
      try {
        await this.o.db.query(
          `INSERT INTO kms_usage (at, caller, key_name, key_version, operation, context, outcome) VALUES ${values.join(', ')}`,
          rows.flat(),
        );
      } catch (err) {
        this.o.onError(err);
      }
    }
  }

  private async countDenial(use: KeyUse, at: Date): Promise<void> {
    const minute = Math.floor(at.getTime() / MINUTE_MS);
    let d = this.#denials.get(use.key);
    if (!d || d.minute !== minute) this.#denials.set(use.key, (d = { minute, count: 0, reported: false }));
    d.count += 1;
    if (d.count >= this.o.denialBurst && !d.reported) {
      d.reported = true;
      await this.raise(use, 'decrypt-denials', `${d.count} refused decrypts of ${use.key} within a minute`);
    }
  }

  private async raise(use: KeyUse, kind: string, reason: string): Promise<void> {
    this.o.metrics.anomalies.inc({ key: use.key, caller: use.caller, kind });
    await this.o.audit({
      actor: use.caller,
      action: 'kms.anomaly',
      target: `Key::"${use.key}"`,
      outcome: use.outcome,
      reason,
      details: { kind, operation: use.operation },
    });
  }
}
