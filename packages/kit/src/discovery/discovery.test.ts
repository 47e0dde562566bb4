import { describe, expect, it } from 'vitest';
import { PowerOfTwoChoices, RoundRobin } from './balancer.js';
import { CircuitBreaker } from './circuit-breaker.js';
import type { Instance } from './instance.js';
import { OutlierDetector } from './outlier-detector.js';
import { RetryBudget } from './retry-budget.js';
import { WindowCounts } from './window-counts.js';

const instances: Instance[] = ['a', 'b', 'c'].map((id, i) => ({
  id,
  service: 's',
  address: '127.0.0.1',
  port: 7000 + i,
}));

describe('balancers', () => {
  it('round robin visits every instance in turn', () => {
    const rr = new RoundRobin();
    const picks = Array.from({ length: 6 }, () => rr.pick(instances)?.id);
    expect(new Set(picks.slice(0, 3))).toEqual(new Set(['a', 'b', 'c']));
    expect(picks.slice(3)).toEqual(picks.slice(0, 3));
  });

  it('power of two choices prefers the less busy of the two it draws, never the busiest of three', () => {
    const p2c = new PowerOfTwoChoices();
    const load: Record<string, number> = { a: 0, b: 5, c: 9 };
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 3000; i++) counts[p2c.pick(instances, (id) => load[id] ?? 0)!.id]! += 1;
    expect(counts.c).toBe(0);
    expect(counts.a).toBeGreaterThan(counts.b!);
  });

  it('spreads evenly when loads are equal', () => {
    const p2c = new PowerOfTwoChoices();
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 3000; i++) counts[p2c.pick(instances, () => 0)!.id]! += 1;
    for (const n of Object.values(counts)) expect(n).toBeGreaterThan(800);
  });
});

describe('outlier detection', () => {
  it('ejects after consecutive failures, for longer each time', () => {
    let now = 0;
    const od = new OutlierDetector({ consecutiveFailures: 3, baseEjectionMs: 1000 }, () => now);
    od.failure('a', instances);
    od.failure('a', instances);
    expect(od.isEjected('a')).toBe(false);
    od.failure('a', instances);
    expect(od.isEjected('a')).toBe(true);
    expect(od.available(instances).map((i) => i.id)).toEqual(['b', 'c']);
    now = 1001;
    expect(od.isEjected('a')).toBe(false);
    for (let i = 0; i < 3; i++) od.failure('a', instances);
    now = 2500;
    expect(od.isEjected('a')).toBe(true); // second ejection lasts 2 s
    now = 3002;
    expect(od.isEjected('a')).toBe(false);
  });

  it('a success resets the count of consecutive failures', () => {
    const od = new OutlierDetector({ consecutiveFailures: 3 });
    od.failure('a', instances);
    od.failure('a', instances);
    od.success('a');
    od.failure('a', instances);
    expect(od.isEjected('a')).toBe(false);
  });

  it('never ejects more than half of a service, and uses all instances if none is left', () => {
    const od = new OutlierDetector({ consecutiveFailures: 1 });
    od.failure('a', instances);
    od.failure('b', instances);
    expect(od.isEjected('a')).toBe(true);
    expect(od.isEjected('b')).toBe(false);
    expect(od.available([instances[0]!]).map((i) => i.id)).toEqual(['a']);
  });
});

describe('retry budget', () => {
  it('allows retries up to a floor plus a share of requests, per window', () => {
    let now = 0;
    const budget = new RetryBudget(0.2, 2, 10_000, () => now);
    for (let i = 0; i < 10; i++) budget.recordRequest();
    const granted = Array.from({ length: 10 }, () => budget.tryRetry()).filter(Boolean).length;
    expect(granted).toBe(4); // 2 + 10 × 0.2
    now = 20_000;
    expect(budget.tryRetry()).toBe(true);
  });

  it('forgets requests and retries past its window', () => {
    let now = 0;
    const budget = new RetryBudget(0.5, 0, 10_000, () => now);
    for (let i = 0; i < 4; i++) budget.recordRequest();
    expect([budget.tryRetry(), budget.tryRetry(), budget.tryRetry()]).toEqual([true, true, false]);
    now = 10_000; // the requests of t = 0 are out of the window, and the retries with them
    expect(budget.tryRetry()).toBe(false);
    budget.recordRequest();
    budget.recordRequest();
    expect([budget.tryRetry(), budget.tryRetry()]).toEqual([true, false]);
  });
});

describe('window counts', () => {
  it('counts each kind over the window and forgets a bucket at a time', () => {
    const w = new WindowCounts(10_000, 2); // ten buckets of 1 s
    w.add(0, 500);
    w.add(0, 1_500);
    w.add(1, 1_500);
    w.add(0, 9_999);
    expect([w.count(0, 9_999), w.count(1, 9_999)]).toEqual([3, 1]);
    expect(w.count(0, 10_000)).toBe(2); // the bucket of 0–1 s has left the window
    expect(w.count(0, 11_000)).toBe(1);
    expect(w.count(1, 11_000)).toBe(0);
    w.add(0, 25_000); // reuses the bucket of 5 s: nothing of the old round remains
    expect(w.count(0, 25_000)).toBe(1);
    w.clear();
    expect(w.count(0, 25_000)).toBe(0);
  });

  it('needs no more memory at a million events', () => {
    const w = new WindowCounts(10_000);
    for (let t = 0; t < 1_000_000; t++) w.add(0, t / 100); // 10 s of 100 000 events a second
    expect(w.count(0, 9_999)).toBe(1_000_000);
  });
});

describe('circuit breaker', () => {
  it('does not count outcomes older than its window', () => {
    let now = 0;
    const cb = new CircuitBreaker({ minRequests: 4, failureRatio: 0.5, windowMs: 10_000 }, () => now);
    for (let i = 0; i < 3; i++) cb.record(false);
    now = 10_000;
    cb.record(false); // only one failure in the window now: below minRequests
    expect(cb.state).toBe('closed');
    for (let i = 0; i < 3; i++) cb.record(false);
    expect(cb.state).toBe('open');
  });

  it('opens when a success brings it to minRequests with the failure share already over', () => {
    const cb = new CircuitBreaker({ minRequests: 4, failureRatio: 0.5 }, () => 0);
    for (let i = 0; i < 3; i++) cb.record(false);
    cb.record(true);
    expect(cb.state).toBe('open');
  });

  it('opens on a high failure rate, lets one probe through after a pause, and closes on success', () => {
    let now = 0;
    const cb = new CircuitBreaker({ minRequests: 4, failureRatio: 0.5, openMs: 1000 }, () => now);
    cb.record(true);
    cb.record(false);
    cb.record(false);
    expect(cb.state).toBe('closed');
    cb.record(false);
    expect(cb.state).toBe('open');
    expect(cb.allow()).toBe(false);
    now = 1000;
    expect(cb.allow()).toBe(true);
    expect(cb.allow()).toBe(false); // one probe at a time
    cb.record(true);
    expect(cb.state).toBe('closed');
    expect(cb.allow()).toBe(true);
  });

  it('opens again when the probe fails', () => {
    let now = 0;
    const cb = new CircuitBreaker({ minRequests: 1, openMs: 1000 }, () => now);
    cb.record(false);
    now = 1000;
    expect(cb.allow()).toBe(true);
    cb.record(false);
    expect(cb.state).toBe('open');
    expect(cb.allow()).toBe(false);
  });
});
