// The admin API end to end: auth over mTLS with a workload identity and the fleet's
// policies, called with the contract's client as `operator` (a certificate from TestCa).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type FlotillaError, ManualIdentity, MtlsClient } from '@flotilla/kit';
import { AuthAdminClient, type RevocationEvent } from '@flotilla/kit/contracts';
import { TestCa } from '@flotilla/testing';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAuth, startAuth } from '../src/index.js';
import { readAudit, TEST_ENV } from './helpers.js';

const POLICY_DIR = join(import.meta.dirname, '..', '..', '..', 'policies');
const PASSWORD = 'a-password-nobody-logs-0123';

let home: string;
let ca: TestCa;
let auth: RunningAuth;
let operator: AuthAdminClient;
let operatorMtls: MtlsClient;
const logs: string[] = [];
const agents: Agent[] = [];
const events: RevocationEvent[] = [];

/** A client whose dispatcher presents `service`'s certificate (or none). */
async function clientAs(service?: string): Promise<AuthAdminClient> {
  const material = service ? await ca.issue(service) : undefined;
  const agent = new Agent({
    connect: { ca: ca.bundle, ...(material ? { cert: material.cert, key: material.key } : {}) },
  });
  agents.push(agent);
  return new AuthAdminClient({ url: auth.url, dispatcher: agent });
}

async function refusal(p: Promise<unknown>): Promise<FlotillaError> {
  return p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e as FlotillaError,
  );
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'flotilla-auth-admin-'));
  ca = await TestCa.create();
  const { AUTH_DEV_INSECURE_HTTP: _insecure, ...env } = TEST_ENV;
  auth = await startAuth({
    identity: new ManualIdentity(ca.trustDomain, await ca.issue('auth')),
    inMemoryDb: true,
    env: {
      ...env,
      LOG_LEVEL: 'debug',
      FLOTILLA_HOME: home,
      FLOTILLA_CLIENT_CERT: 'optional',
      FLOTILLA_POLICY_DIR: POLICY_DIR,
      FLOTILLA_ALLOWED_CALLS: '{}',
    },
    logStream: new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString());
        done();
      },
    }),
    resources: [{ indicator: 'https://api.example', scopes: ['read'] }],
    clients: [],
  });
  await auth.events.subscriber().start((e) => events.push(e));
  // Both ways the CLI can call: the kit's mTLS client (it checks auth's SPIFFE id) …
  operatorMtls = new MtlsClient(new ManualIdentity(ca.trustDomain, await ca.issue('operator')));
  operator = new AuthAdminClient({ url: auth.url, mtls: operatorMtls });
});
afterAll(async () => {
  await operatorMtls?.close();
  await Promise.all(agents.map((a) => a.destroy()));
  await auth?.stop();
  await rm(home, { recursive: true, force: true });
});

describe('the auth admin API (operator over mTLS)', () => {
  it('adds, lists, disables (revoking their tokens), enables and resets MFA of users', async () => {
    const added = await operator.addUser({
      username: 'dora',
      password: PASSWORD,
      roles: ['viewer', 'uploader'],
    });
    expect(added).toMatchObject({
      username: 'dora',
      roles: ['viewer', 'uploader'],
      disabled: false,
      mfa: false,
    });
    expect((await operator.listUsers()).map((u) => u.username)).toContain('dora');

    const disabled = await operator.disableUser('dora');
    expect(disabled.disabled).toBe(true);
    expect(events).toContainEqual(expect.objectContaining({ type: 'user', sub: added.id }));
    expect(await auth.revocations.isRevoked({ sub: added.id })).toBe(true);

    expect((await operator.enableUser('dora')).disabled).toBe(false);
    expect((await operator.resetMfa('dora')).mfa).toBe(false);
  });

  it('answers problem+json with stable codes: taken name, unknown user, bad input', async () => {
    await operator.addUser({ username: 'eve', password: PASSWORD, roles: ['viewer'] });
    expect(
      await refusal(operator.addUser({ username: 'eve', password: PASSWORD, roles: ['viewer'] })),
    ).toMatchObject({
      code: 'FLT_CONFLICT',
      status: 409,
    });
    expect(await refusal(operator.disableUser('nobody'))).toMatchObject({ code: 'FLT_NOT_FOUND' });
    for (const bad of [
      { username: 'frank', password: 'short', roles: ['viewer'] },
      { username: 'frank', password: PASSWORD, roles: [] },
      { username: 'no spaces', password: PASSWORD, roles: ['viewer'] },
      { username: 'frank', password: PASSWORD, roles: ['viewer'], admin: true },
    ]) {
      expect(await refusal(operator.addUser(bad as never))).toMatchObject({
        code: 'FLT_VALIDATION',
        status: 400,
      });
    }
    expect((await operator.listUsers()).map((u) => u.username)).not.toContain('frank');
  });

  it('lists and rotates the signing keys, never showing a private part', async () => {
    const before = await operator.listKeys();
    expect(before.map((k) => k.state).sort()).toEqual(['active', 'next']);
    expect(JSON.stringify(before)).not.toMatch(/"d"/);
    const next = before.find((k) => k.state === 'next')!.kid;
    const rotated = await operator.rotateKeys();
    expect(rotated.active).toBe(next);
    expect(rotated.retainSeconds).toBeGreaterThan(0);
    const after = await operator.listKeys();
    expect(after.find((k) => k.state === 'active')?.kid).toBe(next);
    expect(after.find((k) => k.state === 'retired')?.expiresAt).toEqual(expect.any(String));
  });

  it('works with a plain undici dispatcher holding the operator certificate', async () => {
    const viaAgent = await clientAs('operator');
    expect((await viaAgent.listUsers()).length).toBeGreaterThan(0);
  });

  it('refuses any other service by policy (403), and a caller without a certificate (401)', async () => {
    const gateway = await clientAs('gateway');
    expect(await refusal(gateway.listUsers())).toMatchObject({ code: 'FLT_FORBIDDEN', status: 403 });
    expect(
      await refusal(gateway.addUser({ username: 'mallory', password: PASSWORD, roles: ['admin'] })),
    ).toMatchObject({ status: 403 });
    const anonymous = await clientAs();
    expect(await refusal(anonymous.rotateKeys())).toMatchObject({ code: 'FLT_UNAUTHENTICATED', status: 401 });
    // Refused before validation: a stranger learns nothing about the API.
    const res = await request(`${auth.url}/admin/v1/users`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
      dispatcher: agents.at(-1)!,
    });
    expect(res.statusCode).toBe(401);
    await res.body.dump();
    expect((await operator.listUsers()).map((u) => u.username)).not.toContain('mallory');
  });

  it("audits every call with the caller's identity, and never logs a password", async () => {
    const audit = (await readAudit(home))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { actor: string; action: string; outcome: string; target?: string });
    const operatorId = `spiffe://${ca.trustDomain}/svc/operator`;
    expect(audit).toContainEqual(
      expect.objectContaining({
        actor: operatorId,
        action: 'user.create',
        target: 'dora',
        outcome: 'success',
      }),
    );
    expect(audit).toContainEqual(expect.objectContaining({ actor: operatorId, action: 'user.disable' }));
    expect(audit).toContainEqual(expect.objectContaining({ actor: operatorId, action: 'keys.rotate' }));
    expect(audit).toContainEqual(
      expect.objectContaining({ action: 'user.create', target: 'eve', outcome: 'failure' }),
    );
    expect(audit).toContainEqual(
      expect.objectContaining({ actor: `spiffe://${ca.trustDomain}/svc/gateway`, action: 'policy.deny' }),
    );
    expect(audit).toContainEqual(expect.objectContaining({ actor: 'anonymous', outcome: 'denied' }));
    expect(logs.length).toBeGreaterThan(0);
    for (const text of [...logs, JSON.stringify(audit)]) expect(text).not.toContain(PASSWORD);
  });
});
