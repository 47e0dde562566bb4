import { DB_CHANNEL, type DbReply, type DbRequest, isDbMessage, serializeDbError } from './host-protocol.js';
import type { Db, Queryable } from './types.js';
import { FlotillaError } from '../errors/index.js';

/** The supervisor's end of one child's IPC channel (a `ChildProcess`). */
export interface DbChannel {
  send(message: unknown, callback?: (err: Error | null) => void): boolean;
  on(event: 'message', listener: (msg: unknown) => void): unknown;
  once(event: 'exit' | 'disconnect', listener: () => void): unknown;
  off(event: 'message', listener: (msg: unknown) => void): unknown;
}

/** An open transaction of one child: its queries go to `q` until the child ends it. */
interface OpenTx {
  q: Queryable;
  decide(commit: boolean): void;
  done: Promise<void>;
  idle: NodeJS.Timeout;
}

/** Thrown inside the host's transaction to end it with ROLLBACK; never leaves the host. */
class Rollback extends FlotillaError {
  constructor() {
    super('FLT_INTERNAL', 'rolled back by the service');
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface DbHostOptions {
  /** Opens a service's database the first time one of its processes asks. */
  open: (service: string) => Promise<Db>;
  /**
   * A transaction left idle this long is rolled back: the database has one session, so
   * a service that forgot a transaction would otherwise stall every other caller.
   */
  idleTxMs?: number;
}

/**
 * Keeps each service's embedded database in the `flotilla up` process and answers the
 * service's processes over their IPC channels (see host-protocol.ts). A channel reaches
 * only the database of the service it was attached for: the request names no database.
 * Databases stay open across a service's restarts and are closed by `close()`.
 */
export class DbHost {
  private readonly dbs = new Map<string, Promise<Db>>();
  private readonly idleTxMs: number;

  constructor(private readonly opts: DbHostOptions) {
    this.idleTxMs = opts.idleTxMs ?? 30_000;
  }

  /** Opens a service's database ahead of its first request (it takes a moment). */
  prepare(service: string): Promise<Db> {
    let db = this.dbs.get(service);
    if (!db) {
      db = this.opts.open(service);
      this.dbs.set(service, db);
      // A failed open is retried by the next request rather than remembered.
      db.catch(() => this.dbs.delete(service));
    }
    return db;
  }

  /** Serves `service`'s database to the process at the other end of `channel`. */
  attach(channel: DbChannel, service: string): void {
    const txs = new Map<number, OpenTx>();
    let nextTx = 1;
    let gone = false;
    const reply = (r: DistributiveOmit<DbReply, 'ch'>) => {
      if (!gone) channel.send({ ch: DB_CHANNEL, ...r }, () => undefined);
    };
    const run = async (req: DbRequest): Promise<unknown> => {
      if (req.op === 'begin') {
        const id = nextTx++;
        const onIdle = () => void this.endTx(txs, id, false).catch(() => undefined);
        const tx = await this.begin(await this.prepare(service), onIdle);
        txs.set(id, tx);
        if (gone) await this.endTx(txs, id, false); // it left while we waited for the database
        return id;
      }
      if (req.op === 'commit' || req.op === 'rollback') return this.endTx(txs, req.tx, req.op === 'commit');
      const q = req.tx === undefined ? await this.prepare(service) : this.txFor(txs, req.tx);
      if (req.op === 'exec') return void (await q.exec(req.sql));
      return q.query(req.sql, req.params);
    };
    const onMessage = (msg: unknown) => {
      if (!isDbMessage(msg) || typeof msg.id !== 'number') return;
      const req = msg as DbRequest;
      const problem = malformed(req);
      if (problem) return reply({ id: req.id, ok: false, error: { message: problem } });
      run(req).then(
        (value) => reply({ id: req.id, ok: true, value }),
        (err: unknown) => reply({ id: req.id, ok: false, error: serializeDbError(err) }),
      );
    };
    const onGone = () => {
      if (gone) return;
      gone = true;
      channel.off('message', onMessage);
      // A process that died mid-transaction leaves nothing half-done behind.
      for (const id of [...txs.keys()]) void this.endTx(txs, id, false).catch(() => undefined);
    };
    channel.on('message', onMessage);
    channel.once('disconnect', onGone);
    channel.once('exit', onGone);
  }

  /** Closes every database (after the services using them have stopped). */
  async close(): Promise<void> {
    const dbs = [...this.dbs.values()];
    this.dbs.clear();
    await Promise.all(dbs.map(async (db) => (await db.catch(() => undefined))?.close()));
  }

  private async begin(db: Db, onIdle: () => void): Promise<OpenTx> {
    let decide!: (commit: boolean) => void;
    const decided = new Promise<boolean>((resolve) => (decide = resolve));
    let started!: (q: Queryable) => void;
    const ready = new Promise<Queryable>((resolve) => (started = resolve));
    const done = db
      .transaction(async (q) => {
        started(q);
        if (!(await decided)) throw new Rollback();
      })
      .catch((err: unknown) => {
        if (!(err instanceof Rollback)) throw err;
      });
    const q = await Promise.race([
      ready,
      done.then(() => Promise.reject(new Error('the transaction ended before it began'))),
    ]);
    const idle = setTimeout(onIdle, this.idleTxMs).unref();
    return { q, decide, done, idle };
  }

  private txFor(txs: Map<number, OpenTx>, id: number): Queryable {
    const tx = txs.get(id);
    if (!tx) throw new Error(`no open transaction ${id} (it ended, or was rolled back after idling)`);
    tx.idle.refresh();
    return tx.q;
  }

  private async endTx(txs: Map<number, OpenTx>, id: number, commit: boolean): Promise<void> {
    const tx = txs.get(id);
    if (!tx) throw new Error(`no open transaction ${id} (it ended, or was rolled back after idling)`);
    txs.delete(id);
    clearTimeout(tx.idle);
    tx.decide(commit);
    await tx.done;
  }
}

/** Why a request cannot be run, or undefined when it is well formed. */
function malformed(req: DbRequest): string | undefined {
  const r = req as Record<string, unknown>;
  switch (r.op) {
    case 'query':
    case 'exec':
      if (typeof r.sql !== 'string') return 'sql must be a string';
      if (r.params !== undefined && !Array.isArray(r.params)) return 'params must be an array';
      if (r.tx !== undefined && typeof r.tx !== 'number') return 'tx must be a number';
      return undefined;
    case 'begin':
      return undefined;
    case 'commit':
    case 'rollback':
      return typeof r.tx === 'number' ? undefined : 'tx must be a number';
    default:
      return `unknown database operation ${JSON.stringify(r.op)}`;
  }
}
