import { createMetadata } from '@flixtube/metadata';
import { type RunningService, type ServiceContext } from '@flotilla/kit';
import { startTestIssuer, type TestIssuer } from '@flotilla/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metadataLookup } from '@flixtube/common';
import { AUDIENCE, type HistoryHarness, POLICY_DIR, startHistory } from './harness.js';

/**
 * history and the real metadata service together. Without a control plane there is no
 * mTLS, discovery or broker, so `ctx.call('metadata', …)` is bridged to metadata's plain
 * HTTP address and `viewed` (video-streaming's, in the fleet) is handed to history's
 * handler (the bus itself is covered by viewed-over-bus.test.ts); everything else (the
 * lookup, both services' token checks and policies) is real.
 */
describe('history with the real metadata service', () => {
  let issuer: TestIssuer;
  let meta: RunningService;
  let home: string;
  let h: HistoryHarness;
  const calls: string[] = [];

  beforeAll(async () => {
    issuer = await startTestIssuer({ audience: AUDIENCE, clientId: 'flixtube-web' });
    home = await mkdtemp(join(tmpdir(), 'flixtube-meta-'));
    meta = await createMetadata().start({
      env: {
        PORT: '0',
        FLOTILLA_HOME: home,
        LOG_LEVEL: 'silent',
        AUTH_ISSUER: issuer.issuer,
        AUTH_JWKS_URL: issuer.jwksUrl,
        FLOTILLA_POLICY_DIR: POLICY_DIR,
        POLICY_WATCH: 'false',
      },
      inMemoryDb: true,
    });
    const call: ServiceContext['call'] = async (service, req) => {
      calls.push(`${service} ${req.method ?? 'GET'} ${req.path}`);
      return request(`${meta.url}${req.path}`, { method: req.method ?? 'GET', headers: req.headers ?? {} });
    };
    h = await startHistory(metadataLookup({ call }), {}, issuer);
  });
  afterAll(async () => {
    await h?.close();
    await meta?.stop();
    await issuer?.close();
    await rm(home, { recursive: true, force: true });
  });

  it('records a view of a video in metadata and shows its title; a deleted video loses it', async () => {
    const bob = await h.token('bob');
    const created = await fetch(`${meta.url}/videos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bob}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Real metadata' }),
    });
    expect(created.status).toBe(201);
    const video = (await created.json()) as { id: string };

    const alice = await h.token('alice');
    await h.view('alice', video.id);

    const list = async () =>
      ((await (await h.call(alice, 'GET', '/history')).json()) as { views: Array<{ title: string | null }> })
        .views;
    expect((await list())[0]?.title).toBe('Real metadata');
    expect(calls).toContain(`metadata GET /videos/${video.id}`);

    const deleted = await fetch(`${meta.url}/videos/${video.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${bob}` },
    });
    expect(deleted.status).toBe(204);
    expect((await list())[0]?.title).toBeNull();
    expect(await list()).toHaveLength(1);
  });
});
