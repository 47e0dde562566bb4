/**
 * Waits for `what`: calls `probe` every `everyMs` until it returns something other than
 * undefined, and returns that. A probe that throws counts as "not yet". After `ms` it
 * fails naming `what` and the last error: a bound on a wait, not a speed check.
 *
 * @example
 * const poster = await until('the poster is made', async () => {
 *   const res = await get(`/videos/${id}/poster`);
 *   return res.status === 200 ? res : undefined;
 * });
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 30_000,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= end) throw new Error(`not within ${ms} ms: ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
