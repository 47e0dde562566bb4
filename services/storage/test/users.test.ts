// People's requests, forwarded with their access token: the principal is the User, MFA
// comes from the token, and a policy can match on the object key.
import { startTestIssuer, type TestIssuer } from '@flotilla/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startStorage } from './harness.js';

let issuer: TestIssuer;
let h: Harness;
beforeAll(async () => {
  issuer = await startTestIssuer({ audience: 'flotilla-storage' });
  h = await startStorage({ AUTH_ISSUER: issuer.issuer, AUTH_JWKS_URL: issuer.jwksUrl });
});
afterAll(async () => {
  await h?.close();
  await issuer?.close();
});

const as = async (amr: string[]) => ({
  authorization: `Bearer ${await issuer.token('dora', { claims: { amr, roles: ['viewer'] } })}`,
});

it('writing needs MFA in the token; reading is by key prefix', async () => {
  const put = (headers: Record<string, string>, key: string) =>
    h.raw(
      'gateway',
      'PUT',
      `/v1/buckets/people/objects/${key}`,
      { ...headers, 'content-type': 'text/plain' },
      'hi',
    );
  const without = await put(await as(['pwd']), 'public/a.txt');
  expect(without.status).toBe(403);
  expect(JSON.parse(without.text)).toMatchObject({ code: 'FLT_POLICY_DENIED' });
  expect((await h.auditRecords()).at(-1)).toMatchObject({ actor: 'user:dora', action: 'storage.deny' });

  expect((await put(await as(['pwd', 'otp']), 'public/a.txt')).status).toBe(200);
  expect((await put(await as(['pwd', 'otp']), 'private/b.txt')).status).toBe(200);

  const read = (key: string) => h.raw('gateway', 'GET', `/v1/buckets/people/objects/${key}`, {});
  const token = await as(['pwd']);
  const get = (key: string) => h.raw('gateway', 'GET', `/v1/buckets/people/objects/${key}`, token);
  expect((await get('public/a.txt')).text).toBe('hi');
  expect((await get('private/b.txt')).status).toBe(403);
  // Without a token the caller is the gateway itself, which no policy lets in.
  expect((await read('public/a.txt')).status).toBe(403);
});

it('a forged token is refused before any policy runs', async () => {
  const forged = await issuer.token('dora', { rogueKey: true });
  const res = await h.raw('gateway', 'GET', '/v1/buckets/people/objects/public/a.txt', {
    authorization: `Bearer ${forged}`,
  });
  expect(res.status).toBe(401);
});

it('counts requests by operation and outcome, and bytes in and out', async () => {
  const text = await h.service.ctx.metrics.metrics();
  expect(text).toMatch(/storage_requests_total\{op="put",outcome="success"[^}]*\} [1-9]/);
  expect(text).toMatch(/storage_requests_total\{op="put",outcome="denied"[^}]*\} [1-9]/);
  expect(text).toMatch(/storage_bytes_in_total\{[^}]*\} [1-9]/);
  expect(text).toMatch(/storage_bytes_out_total\{[^}]*\} [1-9]/);
});
