import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROBLEM_CONTENT_TYPE, type RunningService, verifyAuditFile } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from './fixtures/sample-service.js';
import { captureLogs, tempHome } from './helpers.js';

describe('a service built with defineService', () => {
  let svc: RunningService;
  let home: Awaited<ReturnType<typeof tempHome>>;
  const logs = captureLogs();

  beforeAll(async () => {
    home = await tempHome();
    svc = await sample.start({
      env: { PORT: '0', FLOTILLA_HOME: home.dir, BODY_LIMIT: '1024', LOG_LEVEL: 'info' },
      logStream: logs.stream,
      inMemoryDb: true,
    });
  });
  afterAll(async () => {
    await svc?.stop();
    await home?.remove();
  });

  const post = (path: string, body: string, type = 'application/json') =>
    fetch(`${svc.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });

  it('says ctx.storage needs a control plane, and only when it is used', () => {
    expect(() => svc.ctx.storage).toThrow(/no control plane, so it cannot reach the storage service/);
  });

  it('answers /livez', async () => {
    const res = await fetch(`${svc.url}/livez`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'alive' });
  });

  it('turns /readyz unready while a dependency check fails, and ready again after', async () => {
    expect((await fetch(`${svc.url}/readyz`)).status).toBe(200);
    await post('/dependency', JSON.stringify({ up: false }));
    const down = await fetch(`${svc.url}/readyz`);
    expect(down.status).toBe(503);
    const report = (await down.json()) as {
      status: string;
      checks: Record<string, { ok: boolean; error?: string }>;
    };
    expect(report.status).toBe('unready');
    expect(report.checks.dependency).toEqual({ ok: false, error: 'dependency is down' });
    expect(report.checks.database).toEqual({ ok: true });
    await post('/dependency', JSON.stringify({ up: true }));
    expect((await fetch(`${svc.url}/readyz`)).status).toBe(200);
  });

  it('counts requests, errors and durations per route in /metrics', async () => {
    await fetch(`${svc.url}/hello`);
    await fetch(`${svc.url}/boom`);
    const res = await fetch(`${svc.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(
      /http_requests_total\{method="GET",route="\/hello",status_code="200",service="sample"\} [1-9]/,
    );
    expect(text).toMatch(
      /http_request_errors_total\{method="GET",route="\/boom",status_code="500",service="sample"\} 1/,
    );
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{le="0.005",service="sample",method="GET",route="\/hello"\} [0-9]/,
    );
  });

  it('refuses a body that fails its schema with 400 naming the field', async () => {
    const res = await post('/notes', JSON.stringify({ title: 42 }));
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain(PROBLEM_CONTENT_TYPE);
    const problem = (await res.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({
      type: 'urn:flotilla:problem:validation',
      status: 400,
      code: 'FLT_VALIDATION',
      instance: '/notes',
    });
    expect(problem.detail).toBe('body/title must be string');
  });

  it('names a missing field and an unknown one', async () => {
    const missing = (await (await post('/notes', '{}')).json()) as { detail: string };
    expect(missing.detail).toBe("body/title must have required property 'title'");
    const extra = (await (await post('/notes', JSON.stringify({ title: 'a', admin: true }))).json()) as {
      detail: string;
    };
    expect(extra.detail).toMatch(/^body\/admin must NOT have additional properties/);
  });

  it('validates params and query strings too', async () => {
    const res = await fetch(`${svc.url}/notes/abc`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toBe('params/id must be integer');
    const q = await fetch(`${svc.url}/slow?ms=-5`);
    expect(((await q.json()) as { detail: string }).detail).toBe('query/ms must be >= 0');
  });

  it('refuses malformed JSON with 400 and changes nothing', async () => {
    const before = await (await fetch(`${svc.url}/notes/count`)).json();
    const res = await post('/notes', '{"title": "unterminated');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'FLT_BODY_MALFORMED', detail: 'body is not valid JSON' });
    expect(await (await fetch(`${svc.url}/notes/count`)).json()).toEqual(before);
  });

  it('refuses a wrong content type with 415', async () => {
    const res = await post('/notes', 'title=x', 'application/x-www-form-urlencoded');
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ code: 'FLT_MEDIA_TYPE', status: 415 });
  });

  it('refuses a body over the limit with 413', async () => {
    const res = await post('/notes', JSON.stringify({ title: 'x'.repeat(2000) }));
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toContain(PROBLEM_CONTENT_TYPE);
    expect(await res.json()).toMatchObject({
      code: 'FLT_BODY_TOO_LARGE',
      type: 'urn:flotilla:problem:body-too-large',
    });
  });

  it('answers an unknown route with a 404 problem', async () => {
    const res = await fetch(`${svc.url}/nope?x=1`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'FLT_NOT_FOUND', detail: 'no route for GET /nope' });
  });

  it('hides internals of a 5xx: no stack, no message, but a request id to find the log', async () => {
    const res = await fetch(`${svc.url}/boom`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('secret internal detail');
    expect(text).not.toContain('app.ts');
    const problem = JSON.parse(text) as Record<string, unknown>;
    expect(problem).toMatchObject({ code: 'FLT_INTERNAL', title: 'Internal server error' });
    expect(problem.detail).toBeUndefined();
    const logged = logs.lines().find((l) => l.requestId === problem.requestId && l.msg === 'request failed');
    expect(JSON.stringify(logged)).toContain('secret internal detail');
  });

  it('stores data and answers a handled 404 as a problem', async () => {
    const created = await post('/notes', JSON.stringify({ title: 'first' }));
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    expect(await (await fetch(`${svc.url}/notes/${id}`)).json()).toEqual({ id, title: 'first' });
    const missing = await fetch(`${svc.url}/notes/999999`);
    expect(await missing.json()).toMatchObject({ status: 404, detail: 'note 999999 does not exist' });
  });

  it('continues an incoming W3C trace and propagates it to outgoing calls', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${svc.url}/trace`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, 'x-request-id': 'req-trace-1' },
    });
    expect(res.headers.get('x-request-id')).toBe('req-trace-1');
    const { outgoing } = (await res.json()) as { outgoing: { traceparent: string } };
    expect(outgoing.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(outgoing.traceparent).not.toContain('00f067aa0ba902b7');
    const lines = logs.lines().filter((l) => l.requestId === 'req-trace-1');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(line.traceId).toBe(traceId);
  });

  it('starts a new trace when traceparent is malformed', async () => {
    const res = await fetch(`${svc.url}/trace`, {
      headers: { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' },
    });
    const { outgoing } = (await res.json()) as { outgoing: { traceparent: string } };
    expect(outgoing.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(outgoing.traceparent).not.toContain('0'.repeat(32));
  });

  it('redacts authorization headers, cookies and secret query values from its logs', async () => {
    const secret = 'Bearer eyJhbGciOiJFUzI1NiJ9.very-secret-token';
    await fetch(`${svc.url}/trace?access_token=leaky-token-value&page=2`, {
      headers: { authorization: secret, cookie: 'session=cookie-secret', 'x-request-id': 'req-redact-1' },
    });
    const text = logs.text();
    expect(text).not.toContain('very-secret-token');
    expect(text).not.toContain('cookie-secret');
    expect(text).not.toContain('leaky-token-value');
    const incoming = logs
      .lines()
      .find((l) => l.requestId === 'req-redact-1' && l.msg === 'incoming request') as {
      req: { headers: Record<string, string>; url: string };
    };
    expect(incoming.req.headers.authorization).toBe('[REDACTED]');
    expect(incoming.req.headers.cookie).toBe('[REDACTED]');
    expect(incoming.req.url).toBe('/trace?access_token=[REDACTED]&page=2');
    const seen = logs.lines().find((l) => l.requestId === 'req-redact-1' && l.msg === 'headers seen') as {
      headers: Record<string, string>;
    };
    expect(seen.headers.authorization).toBe('[REDACTED]');
  });

  it('writes audit records into a hash chain that verifies', async () => {
    await post('/notes', JSON.stringify({ title: 'audited' }));
    const file = join(home.dir, 'audit', 'sample.jsonl');
    const result = await verifyAuditFile(file);
    expect(result.ok).toBe(true);
    const records = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const last = records.at(-1);
    expect(last).toMatchObject({
      service: 'sample',
      action: 'note.create',
      outcome: 'success',
      actor: 'anonymous',
    });
    expect(last?.requestId).toEqual(expect.any(String));
    expect(last?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(last?.prev).toBe(records.at(-2)?.hash);
  });
});
