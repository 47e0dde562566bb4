/**
 * Messages between a service and the fleet's database host (`flotilla up`), over the
 * IPC channel the supervisor opened when it started the service. The channel is a
 * socket pair only those two processes hold, so it needs no credential: the host knows
 * which service is on the other end because it started it. Values travel with V8's
 * structured clone (the supervisor spawns with `serialization: 'advanced'`), so Dates,
 * byte arrays and nested JSON arrive as they left.
 */
export const DB_CHANNEL = 'flotilla-db';

export type DbRequest = { ch: typeof DB_CHANNEL; id: number } & (
  | { op: 'query'; sql: string; params?: unknown[]; tx?: number }
  | { op: 'exec'; sql: string; tx?: number }
  | { op: 'begin' }
  | { op: 'commit'; tx: number }
  | { op: 'rollback'; tx: number }
);

export type DbReply = { ch: typeof DB_CHANNEL; id: number } & (
  { ok: true; value: unknown } | { ok: false; error: SerializedDbError }
);

/** What survives of a database error: its message and PostgreSQL's fields (code, detail, constraint, …). */
export interface SerializedDbError {
  message: string;
  [field: string]: string | number | boolean | undefined;
}

export function serializeDbError(err: unknown): SerializedDbError {
  if (!(err instanceof Error)) return { message: String(err) };
  const out: SerializedDbError = { message: err.message, name: err.name };
  for (const [k, v] of Object.entries(err))
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  return out;
}

/** An Error with the same message and PostgreSQL fields as the one the host caught. */
export function deserializeDbError(e: SerializedDbError): Error {
  const { message, name, ...fields } = e;
  const err = Object.assign(new Error(message), fields);
  if (typeof name === 'string') err.name = name;
  return err;
}

export function isDbMessage(msg: unknown): msg is { ch: typeof DB_CHANNEL; id: unknown } {
  return typeof msg === 'object' && msg !== null && (msg as { ch?: unknown }).ch === DB_CHANNEL;
}
