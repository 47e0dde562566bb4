import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FlotillaError } from '../errors/index.js';
import type { Balancer } from './balancer.js';
import { CallAccounting } from './call-accounting.js';
import { CallAttempts, type CallPath } from './call-attempts.js';
import type { DispatchCall } from './call-request.js';
import type { Catalog } from './catalog.js';
import { CircuitBreaker } from './circuit-breaker.js';
import type { Instance } from './instance.js';
import { InstancePicker } from './instance-picker.js';
import { OutlierDetector } from './outlier-detector.js';
import { RetryBudget } from './retry-budget.js';

/** What a scripted instance does with an attempt: answer with a status, or fail without one. */
type Script = { status: number; body?: string } | { error: Error } | 'hang';

/** Picks the first candidate: with the not-yet-tried filter, instances are tried in the order listed. */
const first: Balancer = { pick: (candidates) => candidates[0] };

const instance = (port: number): Instance => ({
  id: `i${port}`,
  service: 'svc',
  address: '127.0.0.1',
  port,
});

interface Setup {
  ports: number[];
  /** Per port, what each attempt there gets (the last entry repeats). */
  scripts?: Record<number, Script[]>;
  budget?: RetryBudget;
  breaker?: CircuitBreaker;
  maxAttempts?: number;
  /** A real dispatcher instead of the scripted one (origins are rewritten to plain HTTP). */
  agent?: Dispatcher;
}

/** The client's steps with a fixed catalog, a scripted (or real) agent and outliers that eject at once. */
function setup(s: Setup) {
  const instances = s.ports.map(instance);
  const catalog = { instances: () => instances } as unknown as Catalog;
  const outliers = new OutlierDetector({ consecutiveFailures: 1, maxEjectedShare: 1 });
  const accounting = new CallAccounting(catalog, outliers, s.budget ?? new RetryBudget());
  const sent: Array<{ port: number; body: DispatchCall['body'] | null }> = [];
  const calls = new Map<number, number>();
  const scripted = {
    dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      const port = Number(new URL(String(opts.origin)).port);
      sent.push({ port, body: opts.body as DispatchCall['body'] | null });
      const n = calls.get(port) ?? 0;
      calls.set(port, n + 1);
      const list = s.scripts?.[port] ?? [{ status: 200, body: `from ${port}` }];
      play(list[Math.min(n, list.length - 1)]!, handler);
      return true;
    },
  };
  const real = s.agent && {
    dispatch: (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => {
      sent.push({ port: Number(new URL(String(opts.origin)).port), body: null });
      return s.agent!.dispatch({ ...opts, origin: String(opts.origin).replace('https:', 'http:') }, handler);
    },
  };
  const agent = (real ?? scripted) as unknown as ReturnType<CallPath['mtls']['agentFor']>;
  const path: CallPath = {
    picker: new InstancePicker(catalog, first, accounting),
    accounting,
    mtls: { agentFor: () => agent },
    maxAttempts: s.maxAttempts ?? 3,
  };
  const breaker = s.breaker ?? new CircuitBreaker();
  return { path, accounting, outliers, breaker, sent, instances };
}

function play(script: Script, handler: Dispatcher.DispatchHandler): void {
  const state = { aborted: false };
  const controller = {
    get aborted() {
      return state.aborted;
    },
    abort(reason: Error) {
      state.aborted = true;
      setImmediate(() => handler.onResponseError?.(controller, reason));
    },
    pause() {},
    resume() {},
  } as unknown as Dispatcher.DispatchController;
  handler.onRequestStart?.(controller, {});
  if (script === 'hang') return;
  setImmediate(() => {
    if (controller.aborted) return;
    if ('error' in script) return handler.onResponseError?.(controller, script.error);
    handler.onResponseStart?.(controller, script.status, {}, '');
    if (script.body) handler.onResponseData?.(controller, Buffer.from(script.body));
    handler.onResponseEnd?.(controller, {});
  });
}

interface Outcome {
  status?: number;
  body?: string;
  error?: Error;
  controller?: Dispatcher.DispatchController;
}

/** Runs one call through the state machine; resolves with what reached the caller's handler. */
function run(
  ctx: ReturnType<typeof setup>,
  req: DispatchCall,
  onStart?: (c: Dispatcher.DispatchController) => void,
) {
  return new Promise<Outcome>((resolve) => {
    const out: Outcome = {};
    const chunks: Buffer[] = [];
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: (c) => {
        out.controller = c;
        onStart?.(c);
      },
      onResponseStart: (_c, status) => void (out.status = status),
      onResponseData: (_c, chunk) => void chunks.push(chunk),
      onResponseEnd: () => resolve({ ...out, body: Buffer.concat(chunks).toString() }),
      onResponseError: (_c, error) => resolve({ ...out, error }),
    };
    new CallAttempts(ctx.path, 'svc', req, handler, ctx.breaker).start();
  });
}

const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

describe('the attempt state machine', () => {
  it('retries a 503 of an idempotent request on another instance; the caller sees only the answer', async () => {
    const ctx = setup({ ports: [1, 2], scripts: { 1: [{ status: 503, body: 'busy' }] } });
    const record = vi.spyOn(ctx.breaker, 'record');
    const out = await run(ctx, { method: 'GET', path: '/x' });
    expect(out).toMatchObject({ status: 200, body: 'from 2' });
    expect(ctx.sent.map((s) => s.port)).toEqual([1, 2]);
    expect(record.mock.calls).toEqual([[true]]);
  });

  it('gives a 503 of a POST to the caller, unless the caller vouches that it is idempotent', async () => {
    const scripts = { 1: [{ status: 503 }], 2: [{ status: 503 }] };
    const post = setup({ ports: [1, 2], scripts });
    expect((await run(post, { method: 'POST', path: '/x', body: 'b' })).status).toBe(503);
    expect(post.sent).toHaveLength(1);
    const vouched = setup({ ports: [1, 2, 3], scripts });
    const out = await run(vouched, { method: 'POST', path: '/x', body: 'b', idempotent: true });
    expect(out).toMatchObject({ status: 200, body: 'from 3' });
    expect(vouched.sent.map((s) => s.body)).toEqual(['b', 'b', 'b']); // a whole body is replayed
  });

  it('retries only within the budget and the attempts allowed', async () => {
    const broke = setup({ ports: [1, 2], scripts: { 1: [{ status: 503 }] }, budget: new RetryBudget(0, 0) });
    expect((await run(broke, { method: 'GET', path: '/x' })).status).toBe(503);
    expect(broke.sent).toHaveLength(1);
    const all503 = { 1: [{ status: 502 }], 2: [{ status: 503 }], 3: [{ status: 504 }], 4: [{ status: 200 }] };
    const three = setup({ ports: [1, 2, 3, 4], scripts: all503 });
    expect((await run(three, { method: 'GET', path: '/x' })).status).toBe(504);
    expect(three.sent.map((s) => s.port)).toEqual([1, 2, 3]);
  });

  it('does not retry a status that is not 502/503/504', async () => {
    const ctx = setup({ ports: [1, 2], scripts: { 1: [{ status: 500, body: 'oops' }] } });
    expect(await run(ctx, { method: 'GET', path: '/x' })).toMatchObject({ status: 500, body: 'oops' });
    expect(ctx.sent).toHaveLength(1);
  });

  it('counts each attempt once for the outliers, in flight and out, and the call once for the breaker', async () => {
    const ctx = setup({
      ports: [1, 2, 3],
      scripts: { 1: [{ error: refused() }], 2: [{ status: 503 }], 3: [{ status: 200 }] },
    });
    const answered = vi.spyOn(ctx.accounting, 'answered');
    const failed = vi.spyOn(ctx.accounting, 'failed');
    const started = vi.spyOn(ctx.accounting, 'attemptStarted');
    const ended = vi.spyOn(ctx.accounting, 'attemptEnded');
    const record = vi.spyOn(ctx.breaker, 'record');
    expect((await run(ctx, { method: 'GET', path: '/x' })).status).toBe(200);
    const ids = (calls: Array<[Instance, ...unknown[]]>) => calls.map(([i]) => i.id);
    // `answered(…, true)` counts as a failure through `failed`: one outlier outcome each.
    expect(answered.mock.calls.map(([i, f]) => [i.id, f])).toEqual([
      ['i2', true],
      ['i3', false],
    ]);
    expect(ids(failed.mock.calls)).toEqual(['i1', 'i2']);
    expect(ids(started.mock.calls)).toEqual(['i1', 'i2', 'i3']);
    expect(ids(ended.mock.calls)).toEqual(['i1', 'i2', 'i3']);
    expect(ctx.instances.map((i) => ctx.accounting.load(i.id))).toEqual([0, 0, 0]);
    expect(ctx.outliers.isEjected('i1') && ctx.outliers.isEjected('i2')).toBe(true);
    expect(record.mock.calls).toEqual([[true]]);
  });

  it('fails with the registry’s codes: no instance, timeout, failure', async () => {
    const none = await run(setup({ ports: [] }), { method: 'GET', path: '/x' });
    expect(none.error).toMatchObject({ code: 'FLT_NO_INSTANCE', status: 503 });
    const timeout = Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
    const slow = setup({
      ports: [1, 2],
      scripts: { 1: [{ error: refused() }], 2: [{ error: timeout }] },
      maxAttempts: 2,
    });
    const slowOut = await run(slow, { method: 'GET', path: '/x' });
    expect(slowOut.error).toMatchObject({ code: 'FLT_UPSTREAM_TIMEOUT', status: 504, cause: timeout });
    expect(slowOut.error).toBeInstanceOf(FlotillaError);
    const down = setup({ ports: [1], scripts: { 1: [{ error: refused() }] } });
    const record = vi.spyOn(down.breaker, 'record');
    const downOut = await run(down, { method: 'GET', path: '/x' });
    expect(downOut.error).toMatchObject({ code: 'FLT_UPSTREAM_FAILED', status: 502 });
    expect(down.sent).toHaveLength(3); // the one instance, tried again: it is all there is
    expect(record.mock.calls).toEqual([[false]]);
  });

  it('does not replay a streamed body once answered, and gives the caller that answer', async () => {
    const ctx = setup({ ports: [1, 2], scripts: { 1: [{ status: 503, body: 'busy' }] } });
    const body = Readable.from([Buffer.from('stream')]);
    const out = await run(ctx, { method: 'PUT', path: '/x', body });
    expect(out).toMatchObject({ status: 503, body: 'busy' });
    expect(ctx.sent).toHaveLength(1);
  });

  it('hands the caller its own cancellation: not retried, not held against the instance', async () => {
    let now = 0;
    const breaker = new CircuitBreaker({ minRequests: 1, openMs: 1000 }, () => now);
    breaker.record(false);
    now = 1000;
    expect(breaker.allow()).toBe(true); // half-open: this call is the probe
    const ctx = setup({ ports: [1, 2], scripts: { 1: ['hang'] }, breaker });
    const failed = vi.spyOn(ctx.accounting, 'failed');
    const out = await run(ctx, { method: 'GET', path: '/x' }, (c) =>
      setImmediate(() => c.abort(Object.assign(new Error('aborted'), { name: 'AbortError' }))),
    );
    expect(out.error?.name).toBe('AbortError');
    expect(ctx.sent).toHaveLength(1);
    expect(failed).not.toHaveBeenCalled();
    expect(ctx.accounting.load('i1')).toBe(0);
    expect(breaker.allow()).toBe(true); // the probe is free again
  });
});

describe('the attempt state machine with a streamed body over real connections', () => {
  let server: Server;
  let port = 0;
  let deadPort = 0;
  const agent = new Agent();
  const received: Array<{ bytes: number; sha256: string }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
      });
      req.on('end', () => {
        received.push({ bytes, sha256: hash.digest('hex') });
        if (req.url === '/fail') return req.socket.destroy();
        res.end('stored');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    deadPort = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r)); // nothing listens there now
  });
  afterAll(async () => {
    await agent.close();
    await new Promise((r) => server.close(r));
  });

  const chunks = () => Array.from({ length: 64 }, (_, i) => Buffer.alloc(16 * 1024, i));
  const sha256 = (parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest('hex');

  it('replays a streamed body on another instance when the first refused the connection before reading any', async () => {
    const ctx = setup({ ports: [deadPort, port], agent });
    const out = await run(ctx, { method: 'PUT', path: '/store', body: Readable.from(chunks()) });
    expect(out).toMatchObject({ status: 200, body: 'stored' });
    expect(ctx.sent.map((s) => s.port)).toEqual([deadPort, port]);
    expect(received.at(-1)).toEqual({ bytes: 64 * 16 * 1024, sha256: sha256(chunks()) });
  });

  it('never replays a streamed body that was read, even for an idempotent method', async () => {
    const ctx = setup({ ports: [port, deadPort], agent });
    const before = received.length;
    const out = await run(ctx, { method: 'PUT', path: '/fail', body: Readable.from(chunks()) });
    expect(out.error).toMatchObject({ code: 'FLT_UPSTREAM_FAILED' });
    expect(ctx.sent).toHaveLength(1);
    expect(received.length).toBe(before + 1);
  });
});
