/**
 * Both backends return BIGINT (e.g. `count(*)`) as a JavaScript number, and refuse
 * one that a number cannot hold exactly, rather than silently rounding it.
 */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${text} does not fit a JavaScript number`);
  return n;
}

export const INT8_OID = 20;
