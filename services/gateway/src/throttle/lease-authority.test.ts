import { describe, expect, it } from 'vitest';
import { LeaseAuthority } from './lease-authority.js';
import { LeasedLimiter } from './leased-limiter.js';

/** Three workers' limiters on one authority, talking through promises instead of IPC. */
function workers(n: number, limit: { points: number; duration: number }, now: () => number) {
  const limiters: LeasedLimiter[] = [];
  const authority = new LeaseAuthority(
    () => n,
    async (worker, limiter, key, resetAt) => limiters[worker]!.giveBack(key, resetAt),
    now,
  );
  for (let w = 0; w < n; w++) {
    limiters.push(new LeasedLimiter('user:10:60', limit, { lease: (req) => authority.lease(w, req) }, now));
  }
  return { authority, limiters };
}

async function allowed(limiter: LeasedLimiter, key: string): Promise<boolean> {
  return (await limiter.take(key)).allowed;
}

describe('LeaseAuthority with LeasedLimiter', () => {
  it('admits exactly the limit across workers, whichever worker the requests reach', async () => {
    const { limiters } = workers(3, { points: 10, duration: 60 }, Date.now);
    const results: boolean[] = [];
    // Uneven spread: most requests on worker 0, some on the others, some concurrent.
    for (let i = 0; i < 30; i++) results.push(await allowed(limiters[i % 5 === 0 ? 1 : 0]!, 'alice'));
    results.push(...(await Promise.all(limiters.map((l) => allowed(l, 'alice')))));
    expect(results.filter(Boolean)).toHaveLength(10);
  });

  it('gives the whole limit to a caller that sticks to one worker (unused leases come back)', async () => {
    const { limiters } = workers(2, { points: 10, duration: 60 }, Date.now);
    expect(await allowed(limiters[1]!, 'bob')).toBe(true); // worker 1 now holds a lease
    let n = 0;
    while (await allowed(limiters[0]!, 'bob')) n++;
    expect(n).toBe(9);
  });

  it('counts concurrent requests on many workers without over-admitting', async () => {
    const { limiters } = workers(4, { points: 50, duration: 60 }, Date.now);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => allowed(limiters[i % 4]!, 'carol')),
    );
    expect(results.filter(Boolean)).toHaveLength(50);
  });

  it('starts a new window after the duration, and keys are counted apart', async () => {
    let now = 1_000_000;
    const { limiters, authority } = workers(2, { points: 2, duration: 1 }, () => now);
    expect(await allowed(limiters[0]!, 'dan')).toBe(true);
    expect(await allowed(limiters[1]!, 'dan')).toBe(true);
    expect(await allowed(limiters[0]!, 'dan')).toBe(false);
    expect(await allowed(limiters[0]!, 'erin')).toBe(true);
    now += 1_001;
    expect(await allowed(limiters[1]!, 'dan')).toBe(true);
    authority.sweep();
    expect(authority.size).toBe(1);
  });

  it('reports the remaining points and the time to the window end', async () => {
    const { limiters } = workers(1, { points: 4, duration: 60 }, () => 5_000);
    expect(await limiters[0]!.take('fay')).toEqual({ allowed: true, remaining: 3, msBeforeNext: 60_000 });
  });

  it('answers from a lease in hand synchronously, and asks (a promise) only when it runs out', async () => {
    const { limiters } = workers(1, { points: 4, duration: 60 }, () => 5_000);
    const first = limiters[0]!.take('hal');
    expect(first).toBeInstanceOf(Promise); // no lease yet: asks the authority
    expect(await first).toEqual({ allowed: true, remaining: 3, msBeforeNext: 60_000 });
    // The lease granted 2 of 4 (half of what remains, one worker); 1 is left in it.
    expect(limiters[0]!.take('hal')).toEqual({ allowed: true, remaining: 2, msBeforeNext: 60_000 });
    const next = limiters[0]!.take('hal');
    expect(next).toBeInstanceOf(Promise);
    expect(await next).toEqual({ allowed: true, remaining: 1, msBeforeNext: 60_000 });
    expect(await limiters[0]!.take('hal')).toEqual({ allowed: true, remaining: 0, msBeforeNext: 60_000 });
    expect((await limiters[0]!.take('hal')).allowed).toBe(false);
  });

  it('refuses when the authority does not answer (never admits uncounted)', async () => {
    const limiter = new LeasedLimiter(
      'user:10:60',
      { points: 10, duration: 60 },
      { lease: () => Promise.reject(new Error('primary gone')) },
    );
    expect(await allowed(limiter, 'gus')).toBe(false);
  });
});
