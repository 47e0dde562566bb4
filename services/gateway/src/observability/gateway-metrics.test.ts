import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createGatewayMetrics } from './gateway-metrics.js';

describe('gateway metrics', () => {
  it('counts requests by route, status and decision, and upstream times by service and outcome', async () => {
    const registry = new Registry();
    const m = createGatewayMetrics(registry);
    m.request('GET /a', 200, 'allow');
    m.request('GET /a', 200, 'allow');
    m.request('GET /a', 403, 'policy');
    m.request('GET /b', 200, 'allow');
    m.upstream('videos', 'response', 0.002);
    m.upstream('videos', 'response', 0.02);
    m.upstream('videos', 'timeout', 30);
    m.throttled.inc({ route: 'GET /a', policy: 'user' });
    const text = await registry.metrics();
    expect(text).toMatch(/gateway_requests_total\{route="GET \/a",status="200",decision="allow"\} 2\n/);
    expect(text).toMatch(/gateway_requests_total\{route="GET \/a",status="403",decision="policy"\} 1\n/);
    expect(text).toMatch(/gateway_requests_total\{route="GET \/b",status="200",decision="allow"\} 1\n/);
    expect(text).toMatch(
      /gateway_upstream_duration_seconds_bucket\{le="0.0025",service="videos",outcome="response"\} 1\n/,
    );
    expect(text).toMatch(
      /gateway_upstream_duration_seconds_count\{service="videos",outcome="response"\} 2\n/,
    );
    expect(text).toMatch(/gateway_upstream_duration_seconds_count\{service="videos",outcome="timeout"\} 1\n/);
    expect(text).toMatch(/gateway_throttled_total\{route="GET \/a",policy="user"\} 1\n/);
    // Counting goes on after a scrape, without counting twice.
    m.request('GET /a', 200, 'allow');
    expect(await registry.metrics()).toMatch(
      /gateway_requests_total\{route="GET \/a",status="200",decision="allow"\} 3\n/,
    );
  });
});
