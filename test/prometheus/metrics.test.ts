// `promtool check metrics` on a real service's scrape: a kit service started in-process (its
// HTTP, process and Node.js series), carrying on its registry every family the platform's
// components export (gateway, control, KMS, storage, broker, the kit's bus client), each
// with a sample. Catches names that break Prometheus conventions (units, `_total` on
// counters, base units). Skipped (with a warning) where promtool is not installed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerMetrics } from '@flotilla/broker';
import { createCaMetrics } from '@flotilla/control';
import { createGatewayMetrics } from '@flotilla/gateway';
import { BusMetrics, defineService, type RunningService } from '@flotilla/kit';
import { kmsMetrics } from '@flotilla/kms';
import { storageMetrics } from '@flotilla/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPromtool, promtool } from './promtool.js';

/** A service whose registry holds every component's families, one sample each. */
const everyFamily = defineService({
  name: 'metrics-probe',
  routes(app, ctx) {
    const r = ctx.metrics;
    const gateway = createGatewayMetrics(r);
    gateway.request('videos', 401, 'unauthenticated');
    gateway.upstream('metadata', 'ok', 0.01);
    gateway.throttled.inc({ route: 'videos', policy: 'client' });
    gateway.permissionChecks.inc({ allowed: 'true' });
    const ca = createCaMetrics(r);
    ca.issued.inc();
    ca.renewed.inc();
    ca.revoked.inc();
    ca.refused.inc({ reason: 'revoked' });
    ca.newestExpiry.set('gateway', new Date(Date.now() + 3_600_000));
    const kms = kmsMetrics(r);
    kms.operations.inc({ key: 'videos', caller: 'metadata', operation: 'Decrypt', outcome: 'success' });
    kms.anomalies.inc({ key: 'videos', caller: 'history', kind: 'new-caller' });
    const storage = storageMetrics(r);
    storage.requests('get', 'success');
    storage.bytesIn.inc(10);
    storage.bytesOut.inc(10);
    const broker = brokerMetrics(r);
    broker.count('sent', 'viewed', 'history');
    broker.denials.inc({ action: 'publish', service: 'history' });
    broker.depth.set({ queue: 'viewed' }, 1);
    broker.deadLetters.set({ queue: 'viewed' }, 0);
    new BusMetrics(r).count('queue', 'viewed', 'acked');
    app.get('/hello', async () => ({ hello: 'world' }));
  },
});

const hasPromtool = findPromtool() !== undefined;

/**
 * prom-client's default Node.js gauges that end in `_total` (not Flotilla's names, and not
 * renamable without dropping prom-client's default collectors): the only findings allowed.
 */
const PROM_CLIENT_DEFAULTS = new Set([
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
]);

describe.skipIf(!hasPromtool)('the metrics a service exports', () => {
  let home: string;
  let svc: RunningService;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'flotilla-metrics-'));
    svc = await everyFamily.start({
      env: { PORT: '0', FLOTILLA_HOME: home, LOG_LEVEL: 'warn' },
      inMemoryDb: true,
    });
  });
  afterAll(async () => {
    await svc?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('follow Prometheus naming conventions (promtool check metrics)', async () => {
    expect((await fetch(`${svc.url}/hello`)).status).toBe(200);
    const scrape = await (await fetch(`${svc.url}/metrics`)).text();
    // Each component's families are in the scrape, so the check covers them.
    for (const name of [
      'http_requests_total',
      'gateway_requests_total',
      'control_certificate_expiry_seconds',
      'kms_key_operations_total',
      'storage_requests_total',
      'bus_dead_letters',
      'flotilla_bus_messages_total',
      'process_start_time_seconds',
    ]) {
      expect(scrape).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    }
    const run = promtool(['check', 'metrics'], { input: scrape });
    const findings = run.output
      .split('\n')
      .filter((line) => line.trim() !== '' && !PROM_CLIENT_DEFAULTS.has(line.split(' ')[0]!));
    expect(findings, run.output).toEqual([]);
    // promtool exits 3 for lint findings only; anything else (a parse error) is a failure.
    expect([0, 3], run.output).toContain(run.status);
  });
});
