import { describe, expect, it } from 'vitest';
import { FLEET_DIR, fleetSchema } from '../test/fixtures.js';
import { allowListToPolicies, Authorizer, loadPolicies, PolicyError, serviceCallRequest } from './index.js';

const fleet = await loadPolicies({ dir: FLEET_DIR });

describe('serviceCallRequest', () => {
  it('builds the Cedar request for an inbound mTLS call', () => {
    const req = serviceCallRequest({
      callerService: 'history',
      targetService: 'metadata',
      method: 'get',
      routePattern: '/videos/:id',
    });
    expect(req).toMatchObject({
      principal: { type: 'Service', id: 'history' },
      action: { type: 'Action', id: 'http:GET' },
      resource: { type: 'Endpoint', id: 'metadata GET /videos/:id' },
    });
    expect(req.entities?.[0]).toMatchObject({ attrs: { spiffeId: 'spiffe://flotilla.local/svc/history' } });
    expect(req.entities?.[1]).toMatchObject({
      attrs: { service: 'metadata', method: 'GET', path: '/videos/:id' },
    });
  });

  it('is decided by the fleet policies: allowed call, wrong caller, wrong method', () => {
    const engine = new Authorizer(fleet);
    const call = (callerService: string, method: string) =>
      engine.decide(
        serviceCallRequest({ callerService, targetService: 'metadata', method, routePattern: '/videos/:id' }),
      );
    expect(call('history', 'GET')).toEqual({
      decision: 'allow',
      reasons: ['svc-history-metadata-get-video'],
      errors: [],
    });
    expect(call('video-storage', 'GET').decision).toBe('deny');
    expect(call('history', 'DELETE').decision).toBe('deny');
  });

  it('rejects names that could smuggle Cedar syntax', () => {
    const base = {
      callerService: 'history',
      targetService: 'metadata',
      method: 'GET',
      routePattern: '/videos/:id',
    };
    expect(() => serviceCallRequest({ ...base, routePattern: '/x" || true || "' })).toThrow(PolicyError);
    expect(() => serviceCallRequest({ ...base, callerService: 'History!' })).toThrow(/invalid service name/);
    expect(() => serviceCallRequest({ ...base, method: 'TRACE' })).toThrow(/unsupported HTTP method/);
  });
});

describe('allowListToPolicies', () => {
  it('turns declared calls into permits that allow exactly those calls', async () => {
    const text = allowListToPolicies({
      history: { calls: [{ service: 'metadata', method: 'GET', path: '/videos/:id' }] },
      recommendations: { calls: [{ service: 'history', method: 'get', path: '/history/:userId' }] },
    });
    const engine = new Authorizer({ schema: await fleetSchema(), files: { 'allow-list.cedar': text } });
    expect(engine.policies.map((p) => p.id)).toEqual([
      'allow-list:history -> metadata GET /videos/:id',
      'allow-list:recommendations -> history GET /history/:userId',
    ]);
    const call = (callerService: string, targetService: string, routePattern: string) =>
      engine.decide(serviceCallRequest({ callerService, targetService, method: 'GET', routePattern }))
        .decision;
    expect(call('history', 'metadata', '/videos/:id')).toBe('allow');
    expect(call('recommendations', 'history', '/history/:userId')).toBe('allow');
    expect(call('recommendations', 'metadata', '/videos/:id')).toBe('deny');
    expect(() =>
      allowListToPolicies({ x: { calls: [{ service: 'a', method: 'GET', path: 'no-slash' }] } }),
    ).toThrow(/invalid route pattern/);
  });
});
