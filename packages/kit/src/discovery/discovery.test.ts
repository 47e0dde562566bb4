import { describe, expect, it } from 'vitest';
import { PowerOfTwoChoices, RoundRobin } from './balancer.js';
import { CircuitBreaker } from './circuit-breaker.js';
import type { Instance } from './instance.js';
import { OutlierDetector } from './outlier-detector.js';
import { RetryBudget } from './retry-budget.js';

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
});

describe('circuit breaker', () => {
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
