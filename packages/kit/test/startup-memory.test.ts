import { describe, expect, it } from 'vitest';
import { releaseStartupGarbage } from '../src/observability/startup-memory.js';

describe('releaseStartupGarbage', () => {
  it('runs a full collection: what only a weak reference holds is gone after it', async () => {
    // Big enough for the large-object space, which only a full collection sweeps.
    let big: number[] | undefined = new Array(1_000_000).fill(1);
    const weak = new WeakRef(big);
    big = undefined;
    // A weak target stays alive until the current job ends: collect in a later one.
    await new Promise((resolve) => setImmediate(resolve));
    await releaseStartupGarbage();
    expect(weak.deref()).toBeUndefined();
  });

  it('settles even when called twice at once (one inspector session each)', async () => {
    await expect(Promise.all([releaseStartupGarbage(), releaseStartupGarbage()])).resolves.toEqual([
      undefined,
      undefined,
    ]);
  });
});
