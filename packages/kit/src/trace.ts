import { AsyncLocalStorage } from 'node:async_hooks';
import { randomFillSync } from 'node:crypto';

/** W3C Trace Context (https://www.w3.org/TR/trace-context/) of the current request. */
export interface TraceContext {
  traceId: string;
  /** This service's span id; it is the parent id of outgoing calls. */
  spanId: string;
  /** The caller's span id, when a valid `traceparent` arrived. */
  parentId?: string;
  flags: string;
  requestId?: string;
}

// §3.2: version "00", 32-hex trace-id, 16-hex parent-id, 2-hex flags; all-zero ids are invalid.
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

const storage = new AsyncLocalStorage<TraceContext>();

/** Parses an incoming `traceparent`; returns undefined for anything malformed (§3.2.2.3: restart the trace). */
export function parseTraceparent(
  header: string | string[] | undefined,
): Omit<TraceContext, 'spanId'> | undefined {
  if (typeof header !== 'string') return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return undefined;
  const [, traceId, parentId, flags] = m as unknown as [string, string, string, string];
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return undefined;
  return { traceId, parentId, flags };
}

// Ids come from a pool refilled from the CSPRNG 4 KiB at a time: one call per request
// showed up as ~5% of the gateway's CPU. (Trace ids are identifiers, not secrets.)
const pool = Buffer.alloc(4096);
let poolUsed = pool.length;

function randomHex(bytes: number): string {
  if (poolUsed + bytes > pool.length) {
    randomFillSync(pool);
    poolUsed = 0;
  }
  const hex = pool.toString('hex', poolUsed, poolUsed + bytes);
  poolUsed += bytes;
  return hex;
}

/** Continues the caller's trace, or starts a new one. */
export function startTrace(header: string | string[] | undefined): TraceContext {
  const parent = parseTraceparent(header);
  if (parent) return { ...parent, spanId: randomHex(8) };
  return { traceId: randomHex(16), spanId: randomHex(8), flags: '01' };
}

export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.flags}`;
}

/** The trace of the request being handled, if any. */
export function currentTrace(): TraceContext | undefined {
  return storage.getStore();
}

export function runWithTrace<T>(ctx: TraceContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

/** Headers that carry the current trace to a downstream call. */
export function traceHeaders(): Record<string, string> {
  const ctx = currentTrace();
  return ctx ? { traceparent: formatTraceparent(ctx) } : {};
}
