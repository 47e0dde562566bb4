import { describe, expect, it } from 'vitest';
import type { RegisteredInstance } from '../registry/registry.js';
import { httpSdTargets } from './http-sd.js';

const instance = (over: Partial<RegisteredInstance> & Pick<RegisteredInstance, 'id' | 'service'>) => ({
  address: '127.0.0.1',
  port: 9000,
  registeredAt: '2026-01-01T00:00:00.000Z',
  lastHeartbeat: 0,
  heartbeats: 0,
  failedChecks: 0,
  ...over,
});

describe('the registry as Prometheus HTTP service discovery', () => {
  it('answers one group per ready instance, job named for its service, sorted', () => {
    const groups = httpSdTargets(
      [
        instance({ id: 'b', service: 'metadata', port: 9002, version: '1.2.0' }),
        instance({ id: 'c', service: 'history', port: 9003, failedChecks: 1 }),
        instance({ id: 'a', service: 'metadata', port: 9001 }),
        instance({ id: 'd', service: 'likes', address: '::1', port: 9004 }),
      ],
      'example.org',
    );
    expect(groups).toEqual([
      {
        targets: ['[::1]:9004'],
        labels: {
          job: 'likes',
          __meta_flotilla_service: 'likes',
          __meta_flotilla_instance: 'd',
          __meta_flotilla_spiffe_id: 'spiffe://example.org/svc/likes',
          __scheme__: 'https',
          __metrics_path__: '/metrics',
        },
      },
      {
        targets: ['127.0.0.1:9001'],
        labels: {
          job: 'metadata',
          __meta_flotilla_service: 'metadata',
          __meta_flotilla_instance: 'a',
          __meta_flotilla_spiffe_id: 'spiffe://example.org/svc/metadata',
          __scheme__: 'https',
          __metrics_path__: '/metrics',
        },
      },
      {
        targets: ['127.0.0.1:9002'],
        labels: {
          job: 'metadata',
          __meta_flotilla_service: 'metadata',
          __meta_flotilla_instance: 'b',
          __meta_flotilla_spiffe_id: 'spiffe://example.org/svc/metadata',
          __meta_flotilla_version: '1.2.0',
          __scheme__: 'https',
          __metrics_path__: '/metrics',
        },
      },
    ]);
  });

  it('answers an empty list when nothing is ready (http_sd: 200 with [])', () => {
    expect(
      httpSdTargets([instance({ id: 'x', service: 'history', failedChecks: 2 })], 'flotilla.local'),
    ).toEqual([]);
    expect(httpSdTargets([], 'flotilla.local')).toEqual([]);
  });
});
