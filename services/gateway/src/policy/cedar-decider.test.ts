import { describe, expect, it } from 'vitest';
import { principalFromClaims } from '../auth/principal.js';
import { RouteTable } from '../routes/route-table.js';
import { CedarDecider, cedarIp } from './cedar-decider.js';
import type { RouteRequest } from './route-decider.js';

describe('cedarIp', () => {
  it('keeps what Cedar ip() parses and drops what it would fail on', () => {
    expect(cedarIp('127.0.0.1')).toBe('127.0.0.1');
    expect(cedarIp('::1')).toBe('::1');
    expect(cedarIp('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(cedarIp('fe80::1%eth0')).toBe('fe80::1');
    expect(cedarIp('64:ff9b::1.2.3.4')).toBeUndefined();
    expect(cedarIp('not-an-ip')).toBeUndefined();
  });
});

describe('CedarDecider allows memo', () => {
  // An engine that allows unless the source address is 10.0.0.66, and counts its calls.
  function engine() {
    const e = {
      version: 1,
      calls: 0,
      decide: (req: { context?: Record<string, unknown> }) => {
        e.calls++;
        const ip = (req.context?.sourceIp as { __extn: { arg: string } } | undefined)?.__extn.arg;
        return ip === '10.0.0.66'
          ? { decision: 'deny' as const, reasons: [], errors: [] }
          : { decision: 'allow' as const, reasons: ['p1'], errors: [] };
      },
    };
    return e;
  }
  const alice = principalFromClaims({ sub: 'alice', client_id: 'web', jti: 'j', iat: 1, exp: 2 }, 'jwt');
  const [videos, admin] = new RouteTable([
    { method: 'GET', path: '/v', service: 's', upstreamPath: '/v', auth: 'required' },
    { method: 'DELETE', path: '/v', service: 's', upstreamPath: '/v', auth: 'required' },
  ]).routes;
  const ask = (d: CedarDecider, resource: RouteRequest['resource'], sourceIp: string, mfa = false) =>
    d.decide({
      principal: alice,
      action: 'a',
      resource,
      context: { sourceIp, mfa, time: new Date(), scopes: [], requiredScopes: [] },
    }).decision;

  it('answers a repeated allow from the memo, per route, source address and MFA', () => {
    const e = engine();
    const d = CedarDecider.over(e);
    expect(ask(d, videos!.resource, '10.0.0.1')).toBe('allow');
    expect(ask(d, videos!.resource, '10.0.0.1')).toBe('allow');
    expect(e.calls).toBe(1);
    expect(ask(d, admin!.resource, '10.0.0.1')).toBe('allow');
    expect(ask(d, videos!.resource, '10.0.0.2')).toBe('allow');
    expect(ask(d, videos!.resource, '10.0.0.1', true)).toBe('allow');
    expect(e.calls).toBe(4);
    // A copy of the resource (another object, same route) is the same route.
    expect(ask(d, { ...videos!.resource }, '10.0.0.1')).toBe('allow');
    expect(e.calls).toBe(4);
  });

  it("asks about the route's action on the route, and memoises per action", () => {
    const asked: unknown[] = [];
    const d = CedarDecider.over({
      version: 1,
      decide: (req) => {
        asked.push([req.action, req.resource]);
        return { decision: 'allow', reasons: ['p1'], errors: [] };
      },
    });
    const [read] = new RouteTable([
      { method: 'GET', path: '/v', service: 's', upstreamPath: '/v', auth: 'required', action: 'video:Read' },
    ]).routes;
    const decide = (action: string) =>
      d.decide({
        principal: alice,
        action,
        resource: read!.resource,
        context: { sourceIp: '10.0.0.1', mfa: false, time: new Date(), scopes: [], requiredScopes: [] },
      }).decision;
    expect(decide(read!.action)).toBe('allow');
    expect(decide(read!.action)).toBe('allow');
    expect(decide('http:GET')).toBe('allow');
    expect(asked).toEqual([
      [
        { type: 'Action', id: 'video:Read' },
        { type: 'Route', id: 'GET /v' },
      ],
      [
        { type: 'Action', id: 'http:GET' },
        { type: 'Route', id: 'GET /v' },
      ],
    ]);
  });

  it('never keeps a deny, and asks again after the policy set changes', () => {
    const e = engine();
    const d = CedarDecider.over(e);
    expect(ask(d, videos!.resource, '10.0.0.66')).toBe('deny');
    expect(ask(d, videos!.resource, '10.0.0.66')).toBe('deny');
    expect(e.calls).toBe(2);
    expect(ask(d, videos!.resource, '10.0.0.1')).toBe('allow');
    e.version = 2;
    expect(ask(d, videos!.resource, '10.0.0.1')).toBe('allow');
    expect(e.calls).toBe(4);
    expect(ask(d, videos!.resource, '10.0.0.1')).toBe('allow');
    expect(e.calls).toBe(4);
  });

  it('keeps at most 64 allows per caller', () => {
    const e = engine();
    const d = CedarDecider.over(e);
    for (let i = 0; i < 200; i++) ask(d, videos!.resource, `10.1.0.${i}`);
    expect(e.calls).toBe(200);
    // The last ones are still memoised, the first ones were dropped.
    ask(d, videos!.resource, '10.1.0.199');
    expect(e.calls).toBe(200);
    ask(d, videos!.resource, '10.1.0.0');
    expect(e.calls).toBe(201);
  });
});
