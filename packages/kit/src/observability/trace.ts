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

/**
 * Parses an incoming `traceparent`; returns undefined for anything malformed (§3.2.2.3: restart the trace).
 *
 * @example
 * parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')?.traceId; // '4bf9…4736'
 */
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

// A UUID's text, written into one reused buffer: `randomUUID()` builds it from ~20
// concatenated strings (~0.55 KB a call), this makes one flat 36-character string.
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const UUID_TEXT = Buffer.from('00000000-0000-4000-8000-000000000000', 'latin1');
const UUID_HEX_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/**
 * A random (version 4, RFC 9562 §5.4) UUID from the same CSPRNG pool as trace ids: a
 * request id, unique for correlation (122 random bits), not a secret.
 */
export function randomRequestId(): string {
  if (poolUsed + 16 > pool.length) {
    randomFillSync(pool);
    poolUsed = 0;
  }
  for (let i = 0; i < 16; i++) {
    let byte = pool[poolUsed + i]!;
    if (i === 6)
      byte = (byte & 0x0f) | 0x40; // version 4
    else if (i === 8) byte = (byte & 0x3f) | 0x80; // variant 10
    const at = UUID_HEX_AT[i]!;
    UUID_TEXT[at] = HEX_DIGITS[byte >> 4]!;
    UUID_TEXT[at + 1] = HEX_DIGITS[byte & 0x0f]!;
  }
  poolUsed += 16;
  return UUID_TEXT.toString('latin1', 0, 36);
}

/** Continues the caller's trace, or starts a new one; `requestId` is kept with it. */
export function startTrace(header: string | string[] | undefined, requestId?: string): TraceContext {
  const parent = parseTraceparent(header);
  // One object of one shape either way (no spread of the parsed parent).
  return parent
    ? {
        traceId: parent.traceId,
        spanId: randomHex(8),
        parentId: parent.parentId,
        flags: parent.flags,
        requestId,
      }
    : { traceId: randomHex(16), spanId: randomHex(8), parentId: undefined, flags: '01', requestId };
}

/**
 * The `traceparent` header of a trace (W3C Trace Context §3.2).
 *
 * @example
 * const trace = currentTrace();
 * if (trace) headers.traceparent = formatTraceparent(trace);
 */
export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.flags}`;
}

/**
 * The trace of the request being handled, if any.
 *
 * @example
 * log.info({ traceId: currentTrace()?.traceId }, 'video transcoded');
 */
export function currentTrace(): TraceContext | undefined {
  return storage.getStore();
}

/**
 * Runs `fn(...args)` with `ctx` as the current trace (and the previous one again after it).
 * Arguments are passed through so that a per-request caller needs no closure.
 *
 * @example
 * runWithTrace(startTrace(req.headers.traceparent), handle, req, res);
 */
export function runWithTrace<A extends unknown[], T>(
  ctx: TraceContext,
  fn: (...args: A) => T,
  ...args: A
): T {
  return storage.run(ctx, fn, ...args);
}

/**
 * Headers that carry the current trace to a downstream call.
 *
 * @example
 * await request(url, { headers: { ...traceHeaders(), accept: 'application/json' } });
 */
export function traceHeaders(): Record<string, string> {
  const ctx = currentTrace();
  return ctx ? { traceparent: formatTraceparent(ctx) } : {};
}
