import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Spent } from './limiter.js';
import { MemoryLimiter } from './memory-limiter.js';

/** A limiter on a clock the test moves. */
function limiter(points: number, duration: number, start = 1_000) {
  const clock = { now: start };
  return { clock, l: new MemoryLimiter({ points, duration }, () => clock.now) };
}

describe('MemoryLimiter', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('admits exactly `points` in a window, counting down, then refuses', () => {
    const { l } = limiter(5, 60);
    const results = Array.from({ length: 8 }, () => l.take('alice'));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true, false, false, false]);
    expect(results.map((r) => r.remaining)).toEqual([4, 3, 2, 1, 0, 0, 0, 0]);
    // Answered at once: no promise, nothing to await.
    expect(results[0]).not.toBeInstanceOf(Promise);
  });

  it('reports the time to the end of the window, on admissions and refusals alike', () => {
    const { l, clock } = limiter(2, 60);
    expect(l.take('k')).toEqual({ allowed: true, remaining: 1, msBeforeNext: 60_000 });
    clock.now += 15_000;
    expect(l.take('k')).toEqual({ allowed: true, remaining: 0, msBeforeNext: 45_000 });
    clock.now += 44_999;
    expect(l.take('k')).toEqual({ allowed: false, remaining: 0, msBeforeNext: 1 });
  });

  it('starts a new window once the previous one has ended (fixed window: not before)', () => {
    const { l, clock } = limiter(3, 10);
    for (let i = 0; i < 3; i++) expect(l.take('k').allowed).toBe(true);
    clock.now += 9_999;
    expect(l.take('k').allowed).toBe(false);
    clock.now += 1; // exactly the window end
    expect(l.take('k')).toEqual({ allowed: true, remaining: 2, msBeforeNext: 10_000 });
    expect(l.take('k').allowed).toBe(true);
    expect(l.take('k').allowed).toBe(true);
    expect(l.take('k').allowed).toBe(false);
  });

  it('refusals do not extend the window (a caller hammering a closed window is let in when it ends)', () => {
    const { l, clock } = limiter(1, 1);
    expect(l.take('k').allowed).toBe(true);
    for (let t = 0; t < 10; t++) {
      clock.now += 99;
      expect(l.take('k').allowed).toBe(false);
    }
    clock.now += 10;
    expect(l.take('k').allowed).toBe(true);
  });

  it('counts each key apart', () => {
    const { l } = limiter(2, 60);
    expect([l.take('a'), l.take('a'), l.take('a')].map((r) => r.allowed)).toEqual([true, true, false]);
    expect([l.take('b'), l.take('b'), l.take('b')].map((r) => r.allowed)).toEqual([true, true, false]);
    // Keys that could collide if joined carelessly stay apart too.
    expect(l.take('a|').allowed).toBe(true);
    expect(l.take('').allowed).toBe(true);
    expect(l.take('a').allowed).toBe(false);
  });

  it('two limiters (policies) never share counters', () => {
    const one = new MemoryLimiter({ points: 1, duration: 60 });
    const two = new MemoryLimiter({ points: 1, duration: 60 });
    expect(one.take('k').allowed).toBe(true);
    expect(two.take('k').allowed).toBe(true);
    expect(one.take('k').allowed).toBe(false);
    expect(two.take('k').allowed).toBe(false);
  });

  it('keeps memory bounded: ended windows are dropped as new ones open, and by sweep()', () => {
    const { l, clock } = limiter(10, 1);
    // 10 000 keys (a spray of source addresses) in one window.
    for (let i = 0; i < 10_000; i++) l.take(`ip-${i}`);
    expect(l.size).toBe(10_000);
    // Windows later, a trickle of new keys drops the ended windows, a few at a time each.
    clock.now += 5_000;
    for (let i = 0; i < 2_000; i++) l.take(`late-${i}`);
    expect(l.size).toBe(2_000);
    clock.now += 1_000;
    l.sweep();
    expect(l.size).toBe(0);
  });

  it('never keeps more than the keys of about two windows under a steady spray of new keys', () => {
    const { l, clock } = limiter(5, 1);
    let peak = 0;
    // 1 000 new keys a second for a minute.
    for (let s = 0; s < 60; s++) {
      for (let i = 0; i < 1_000; i++) {
        clock.now += 1;
        l.take(`k-${s}-${i}`);
        peak = Math.max(peak, l.size);
      }
    }
    expect(peak).toBeLessThanOrEqual(2_000);
  });

  it('sweep() keeps windows still running, with their counts', () => {
    const { l, clock } = limiter(2, 10);
    l.take('old');
    clock.now += 6_000;
    l.take('young');
    l.take('young');
    clock.now += 5_000; // `old` ended, `young` has 1 s left
    l.sweep();
    expect(l.size).toBe(1);
    expect(l.take('young').allowed).toBe(false);
    expect(l.take('old').allowed).toBe(true);
  });

  it('a key whose window restarts moves behind the others (eviction order stays window order)', () => {
    const { l, clock } = limiter(1, 10);
    l.take('a'); // ends at 11 000
    clock.now += 5_000;
    l.take('b'); // ends at 16 000
    clock.now += 5_000;
    l.take('a'); // new window, ends at 21 000
    clock.now += 6_500; // b ended, a has not
    l.take('c');
    expect(l.size).toBe(2);
    expect(l.take('a').allowed).toBe(false);
    expect(l.take('b').allowed).toBe(true);
  });

  it('is not fooled by the wall clock: windows run on a monotonic clock by default', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const l = new MemoryLimiter({ points: 1, duration: 60 });
    expect(l.take('k').allowed).toBe(true);
    vi.setSystemTime(Date.now() + 3_600_000); // the wall clock jumps an hour
    expect(l.take('k').allowed).toBe(false);
  });

  it('refuses a configuration that would not limit', () => {
    expect(() => new MemoryLimiter({ points: 0, duration: 60 })).toThrow(RangeError);
    expect(() => new MemoryLimiter({ points: 1.5, duration: 60 })).toThrow(RangeError);
    expect(() => new MemoryLimiter({ points: 1, duration: 0 })).toThrow(RangeError);
  });

  it('answers as rate-limiter-flexible’s RateLimiterMemory does, request for request', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const points = 7;
    const duration = 3;
    const ours = new MemoryLimiter({ points, duration }, () => Date.now());
    const theirs = new RateLimiterMemory({ points, duration });
    const asSpent = (r: RateLimiterRes, allowed: boolean): Spent => ({
      allowed,
      remaining: r.remainingPoints,
      msBeforeNext: r.msBeforeNext,
    });
    // A deterministic pseudo-random walk over 4 keys and uneven gaps, across many windows.
    const seen = { allowed: 0, refused: 0 };
    let seed = 42;
    const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 3_000; i++) {
      vi.advanceTimersByTime(Math.floor(rand() * (rand() < 0.05 ? 4_000 : 120)));
      const key = `k${Math.floor(rand() * 4)}`;
      const expected = await theirs.consume(key).then(
        (r) => asSpent(r, true),
        (r: unknown) => {
          if (!(r instanceof RateLimiterRes)) throw r;
          return asSpent(r, false);
        },
      );
      expect(ours.take(key), `request ${i} for ${key}`).toEqual(expected);
      seen[expected.allowed ? 'allowed' : 'refused']++;
    }
    // The walk went through admissions, refusals and window ends.
    expect(seen.allowed).toBeGreaterThan(500);
    expect(seen.refused).toBeGreaterThan(500);
  });
});
