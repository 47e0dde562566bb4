import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FlotillaError } from '../errors/index.js';
import { type HealthCheck, runChecks } from '../service/health.js';
import { keepConsuming } from './keep-consuming.js';
import type { Consumer } from './transport.js';

/** A ctx with real readiness checks and closers, and a log whose lines the test can read. */
function fakeCtx() {
  const checks = new Map<string, HealthCheck>();
  const closers: Array<() => Promise<void> | void> = [];
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return {
    ctx: {
      addCheck: (name: string, check: HealthCheck) => checks.set(name, check),
      onClose: (fn: () => Promise<void> | void) => closers.push(fn),
      log,
    },
    lines,
    ready: async () => (await runChecks(checks, false)).checks,
    close: async () => {
      for (const fn of closers.reverse()) await fn();
    },
  };
}

function consumer(): Consumer & { cancelled: boolean } {
  const c = {
    cancelled: false,
    cancel: async () => {
      c.cancelled = true;
    },
  };
  return c;
}

const fast = { initialDelayMs: 1, maxDelayMs: 5 };

describe('keepConsuming', () => {
  it('retries a broker that is not there yet, and is ready once consuming', async () => {
    const f = fakeCtx();
    const c = consumer();
    let tries = 0;
    let brokerUp = false;
    let twoFailures!: () => void;
    const failedTwice = new Promise<void>((r) => (twoFailures = r));
    const kept = keepConsuming(
      f.ctx,
      'viewed',
      async () => {
        tries++;
        if (brokerUp) return c;
        if (tries === 2) twoFailures();
        throw new Error('connect ECONNREFUSED 127.0.0.1:7420');
      },
      fast,
    );
    await failedTwice;
    // While it cannot consume, the check fails and says why.
    expect((await f.ready())['bus:viewed']).toEqual({
      ok: false,
      error: 'not consuming viewed: connect ECONNREFUSED 127.0.0.1:7420',
    });
    expect(kept.consumer).toBeUndefined();
    brokerUp = true;
    expect(await kept.started).toBe(c);
    expect(tries).toBeGreaterThanOrEqual(3);
    expect((await f.ready())['bus:viewed']).toEqual({ ok: true });
    expect(f.lines.filter((l) => l.msg === 'bus consumer could not start; will retry')).toHaveLength(
      tries - 1,
    );
    await f.close();
    expect(c.cancelled).toBe(true);
    expect((await f.ready())['bus:viewed']).toMatchObject({
      ok: false,
      error: 'not consuming viewed: stopped',
    });
  });

  it('does not retry a policy denial: one clear error, readiness stays failing', async () => {
    const f = fakeCtx();
    let tries = 0;
    const kept = keepConsuming(
      f.ctx,
      'viewed',
      async () => {
        tries++;
        throw new FlotillaError('FLT_POLICY_DENIED', 'history may not bus:Subscribe on Topic::"viewed"');
      },
      fast,
    );
    expect(await kept.started).toBeUndefined();
    await new Promise((r) => setTimeout(r, 30)); // long enough for several retries, were there any
    expect(tries).toBe(1);
    const errors = f.lines.filter((l) => l.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toMatch(/policies refuse viewed to this service; not retrying/);
    expect((await f.ready())['bus:viewed']).toMatchObject({
      ok: false,
      error: expect.stringContaining('may not bus:Subscribe'),
    });
    await f.close();
  });

  it('stops retrying at shutdown, and cancels a consumer that starts after it', async () => {
    const f = fakeCtx();
    let tries = 0;
    const kept = keepConsuming(
      f.ctx,
      'uploads',
      async () => {
        tries++;
        throw new Error('broker unavailable');
      },
      { initialDelayMs: 60_000, maxDelayMs: 60_000 },
    );
    await new Promise((r) => setTimeout(r, 10));
    await f.close(); // wakes the 60 s wait at once
    expect(await kept.started).toBeUndefined();
    expect(tries).toBe(1);

    const late = consumer();
    let release!: () => void;
    const f2 = fakeCtx();
    const kept2 = keepConsuming(
      f2.ctx,
      'uploads',
      () => new Promise<Consumer>((r) => (release = () => r(late))),
    );
    const closing = f2.close();
    release();
    await closing;
    expect(await kept2.started).toBeUndefined();
    expect(late.cancelled).toBe(true);
  });
});
