/** The result of a query: rows and how many rows the statement touched. */
export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

/**
 * The one shape of a service's database, whatever the backend. Parameterised
 * queries only: values go in `params` as `$1, $2, …`, never into the SQL text.
 */
export interface Db {
  readonly kind: 'postgres' | 'pglite';
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
  /** Runs a script of one or more statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<R>(fn: (tx: Queryable) => Promise<R>): Promise<R>;
  close(): Promise<void>;
}

export type Queryable = Pick<Db, 'query' | 'exec' | 'kind'>;

/** A schema change, applied once, in order of `id`. */
export interface Migration {
  id: string;
  sql: string;
}
