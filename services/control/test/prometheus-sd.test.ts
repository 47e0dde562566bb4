import { createServer } from 'node:net';
import { join as joinPath } from 'node:path';
import type { RunningService } from '@flotilla/kit';
import { CONTROL_ROUTES, type InstanceList } from '@flotilla/kit/contracts';
import { echoService, fleetJoiner, until } from '@flotilla/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditRecords,
  call,
  type CallOptions,
  join,
  spiffe,
  startTestControl,
  type TestControl,
} from './helpers.js';

const POLICY_DIR = joinPath(import.meta.dirname, '..', '..', '..', 'policies');
const TARGETS = CONTROL_ROUTES.prometheusTargets.path;
/** The content types Prometheus's HTTP SD accepts (`matchContentType` in its discovery/http). */
const HTTP_SD_CONTENT_TYPE = /^application\/json(;\s*charset=("utf-8"|utf-8))?$/i;

/** A port nothing listens on: an instance registered there fails every health check. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('Prometheus service discovery: GET /v1/prometheus/targets over mTLS', () => {
  let control: TestControl;
  let metadata: RunningService;
  /** Client certificates (chain and key) of the identities that call. */
  const as: Record<string, CallOptions> = {};
  let ready: InstanceList['instances'][number];
  let notReadyId: string;

  const instances = async (): Promise<InstanceList['instances']> => {
    const res = await call(control, 'GET', CONTROL_ROUTES.listInstances.path, undefined, {
      admin: control.adminToken,
    });
    return (res.body as InstanceList).instances;
  };

  beforeAll(async () => {
    control = await startTestControl({
      FLOTILLA_POLICY_DIR: POLICY_DIR,
      // A failing instance stays listed (not ready) instead of being removed.
      REGISTRY_HEALTH_INTERVAL_MS: '200',
      REGISTRY_HEALTH_MAX_FAILURES: '100',
      REGISTRY_TTL_SECONDS: '600',
    });
    for (const name of ['prometheus', 'operator', 'gateway', 'metadata', 'history']) {
      const joined = await join(control, name);
      as[name] = { cert: joined.certChainPem, key: joined.keyPem };
    }

    // A ready service: a real one, which registers itself once ready and passes its checks.
    const joiner = fleetJoiner(control, { home: control.home, policies: POLICY_DIR });
    metadata = await echoService('metadata').start({ env: await joiner('metadata') });
    ready = await until('metadata is registered', async () =>
      (await instances()).find((i) => i.service === 'metadata' && i.port === metadata.port),
    );

    // A service that is not ready: registered (as itself) where nothing answers its /readyz.
    const registered = await call(
      control,
      'POST',
      CONTROL_ROUTES.register.path,
      { address: '127.0.0.1', port: await closedPort() },
      as.history,
    );
    expect(registered.status).toBe(201);
    notReadyId = registered.body.id;
    await until('history fails a health check', async () =>
      (await instances()).some((i) => i.id === notReadyId && !i.healthy) ? true : undefined,
    );
  }, 60_000);

  afterAll(async () => {
    await metadata?.stop();
    await control?.cleanup();
  });

  it('answers prometheus with exactly the ready instances, in the http_sd format', async () => {
    const res = await call(control, 'GET', TARGETS, undefined, as.prometheus);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(HTTP_SD_CONTENT_TYPE);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual([
      {
        targets: [`${ready.address}:${metadata.port}`],
        labels: {
          job: 'metadata',
          __meta_flotilla_service: 'metadata',
          __meta_flotilla_instance: ready.id,
          __meta_flotilla_spiffe_id: spiffe('metadata'),
          __scheme__: 'https',
          __metrics_path__: '/metrics',
        },
      },
    ]);
    // The registry does hold the other one: it is left out because it is not ready.
    expect((await instances()).map((i) => i.service).sort()).toEqual(['history', 'metadata']);
  });

  it('answers the operator, with its workload identity or the admin token', async () => {
    const byIdentity = await call(control, 'GET', TARGETS, undefined, as.operator);
    const byToken = await call(control, 'GET', TARGETS, undefined, { admin: control.adminToken });
    expect(byIdentity.status).toBe(200);
    expect(byToken.status).toBe(200);
    expect(byToken.body).toEqual(byIdentity.body);
  });

  it('refuses a caller without a client certificate (401 problem+json)', async () => {
    const res = await call(control, 'GET', TARGETS);
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 401, code: 'FLT_UNAUTHENTICATED' });
  });

  it('refuses a fleet service identity by policy (403 problem+json), and audits it', async () => {
    for (const name of ['gateway', 'metadata']) {
      const res = await call(control, 'GET', TARGETS, undefined, as[name]);
      expect(res.status, name).toBe(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 403, code: 'FLT_FORBIDDEN' });
    }
    const denials = (await auditRecords(control.home)).filter(
      (r) => r.action === 'policy.deny' && r.target === `control GET ${TARGETS}`,
    );
    expect(denials.map((r) => r.actor).sort()).toEqual([spiffe('gateway'), spiffe('metadata')]);
  });

  it('lets prometheus scrape /metrics on a service over mTLS, and nothing else', async () => {
    const metrics = `${metadata.url}/metrics`;
    const scrape = await call(control, 'GET', metrics, undefined, as.prometheus);
    expect(scrape.status).toBe(200);
    expect(scrape.headers['content-type']).toMatch(/^text\/plain/);
    expect(scrape.body).toContain('# TYPE');

    // Not the service's API, and no other service scrapes.
    const api = await call(control, 'GET', `${metadata.url}/whoami`, undefined, as.prometheus);
    expect(api.status).toBe(403);
    expect(api.body).toMatchObject({ code: 'FLT_FORBIDDEN' });
    expect((await call(control, 'GET', metrics, undefined, as.history)).status).toBe(403);
    // Without a certificate the service's TLS handshake refuses the caller.
    await expect(call(control, 'GET', metrics)).rejects.toThrow();
  });

  it("lets prometheus scrape the control plane's /metrics, where a caller without a certificate gets 401", async () => {
    // The control plane's listener takes callers without a certificate (joins): the kit
    // refuses them /metrics itself, since the policies never see them.
    const anonymous = await call(control, 'GET', '/metrics');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ code: 'FLT_UNAUTHENTICATED' });
    const scrape = await call(control, 'GET', '/metrics', undefined, as.prometheus);
    expect(scrape.status).toBe(200);
    expect(scrape.body).toContain('control_certificates_issued_total');
    expect((await call(control, 'GET', '/metrics', undefined, as.gateway)).status).toBe(403);
  });
});
