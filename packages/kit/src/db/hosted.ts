import {
  DB_CHANNEL,
  type DbReply,
  type DbRequest,
  deserializeDbError,
  isDbMessage,
} from './host-protocol.js';
import type { Db, Queryable, QueryResult } from './types.js';

/** The IPC end a child process holds (`process`); a test may pass its own. */
export interface DbPort {
  send?:
    | ((
        message: unknown,
        sendHandle: undefined,
        options: undefined,
        callback: (err: Error | null) => void,
      ) => boolean)
    | undefined;
  on(event: 'message', listener: (msg: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
  off(event: 'message', listener: (msg: unknown) => void): unknown;
  off(event: 'disconnect', listener: () => void): unknown;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type Op = DbRequest extends infer R ? (R extends unknown ? Omit<R, 'ch' | 'id'> : never) : never;

/**
 * The service's embedded database, kept by the fleet's database host (`flotilla up`)
 * rather than in this process: the same PGlite, the same `Db` contract, reached over
 * the supervisor's IPC channel. A service restart keeps the database open, instances
 * of one service share one database, and the service process carries no PostgreSQL.
 */
export function openHostedDb(port: DbPort = process): Db {
  if (!port.send) throw new Error('FLOTILLA_DB=host needs the IPC channel of `flotilla up`');
  const send = port.send.bind(port);
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let closed = false;
  let drained: (() => void) | undefined;
  const settled = () => {
    if (closed && pending.size === 0) drained?.();
  };

  const onMessage = (msg: unknown) => {
    if (!isDbMessage(msg) || typeof msg.id !== 'number') return;
    const reply = msg as DbReply;
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if (reply.ok) p.resolve(reply.value);
    else p.reject(deserializeDbError(reply.error));
    settled();
  };
  const onGone = () => {
    for (const p of pending.values()) p.reject(new Error('the fleet database host is gone'));
    pending.clear();
    settled();
  };
  port.on('message', onMessage);
  port.on('disconnect', onGone);

  const call = <T>(op: Op): Promise<T> => {
    if (closed) return Promise.reject(new Error('the database is closed'));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      send({ ch: DB_CHANNEL, id, ...op }, undefined, undefined, (err) => {
        if (err && pending.delete(id)) {
          reject(new Error(`the fleet database host is unreachable: ${err.message}`));
          settled();
        }
      });
    });
  };

  const queryable = (tx?: number) => queryableOver(call, tx);
  const self = queryable();

  return {
    kind: 'pglite',
    query: self.query,
    exec: self.exec,
    async transaction<R>(fn: (tx: Queryable) => Promise<R>): Promise<R> {
      const tx = await call<number>({ op: 'begin' });
      let result: R;
      try {
        result = await fn(queryable(tx));
      } catch (err) {
        await call({ op: 'rollback', tx }).catch(() => undefined);
        throw err;
      }
      await call({ op: 'commit', tx });
      return result;
    },
    async close() {
      closed = true;
      // Answers still owed are awaited: their callers are told, not left hanging.
      if (pending.size) await new Promise<void>((resolve) => (drained = resolve));
      port.off('message', onMessage);
      port.off('disconnect', onGone);
    },
  };
}

/** Queries and statements sent down the channel, inside transaction `tx` when given. */
function queryableOver(call: <T>(op: Op) => Promise<T>, tx?: number): Queryable {
  return {
    kind: 'pglite',
    query: <T>(sql: string, params?: readonly unknown[]) =>
      call<QueryResult<T>>({
        op: 'query',
        sql,
        ...(params ? { params: [...params] } : {}),
        ...(tx ? { tx } : {}),
      }),
    exec: (sql: string) => call<void>({ op: 'exec', sql, ...(tx ? { tx } : {}) }),
  };
}
