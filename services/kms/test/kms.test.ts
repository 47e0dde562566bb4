// The KMS end to end over mTLS, with the fleet's Cedar policies (plus test grants), on
// PGlite and, with DATABASE_URL, PostgreSQL.
import type { KmsClient } from '@flotilla/kit/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, type KmsHarness, refusal, startKms } from './helpers.js';

describe.each(backends())('the KMS on $name', ({ env }) => {
  let kms: KmsHarness;
  let operator: KmsClient;
  let app: KmsClient;

  beforeAll(async () => {
    kms = await startKms(env);
    operator = await kms.as('operator');
    app = await kms.as('app');
  });
  afterAll(() => kms?.close());

  it('creates keys, generates data keys, encrypts and decrypts with the context bound', async () => {
    const name = kms.name('basics');
    const created = await operator.createKey({ name, description: 'basics', rotationDays: 90 });
    expect(created).toMatchObject({
      name,
      state: 'enabled',
      currentVersion: 1,
      minDecryptionVersion: 1,
      rotationDays: 90,
    });
    expect(await operator.describeKey(name)).toEqual(created);
    expect((await operator.listKeys()).map((k) => k.name)).toContain(name);

    const context = { bucket: 'videos', object: 'a.mp4' };
    const dataKey = await app.generateDataKey(name, context);
    expect(dataKey.plaintext).toHaveLength(32);
    expect(dataKey.ciphertext).toMatch(new RegExp(`^kms:v1:${name}:1:`));
    // The same context in another order is the same context.
    expect(await app.decrypt(dataKey.ciphertext, { object: 'a.mp4', bucket: 'videos' })).toEqual(
      dataKey.plaintext,
    );

    const sealed = await app.encrypt(name, Buffer.from('a small secret'), { purpose: 'test' });
    expect((await app.decrypt(sealed, { purpose: 'test' })).toString()).toBe('a small secret');

    const batch = await app.generateDataKeys(name, 256, context);
    expect(batch).toHaveLength(256);
    expect(new Set(batch.map((k) => k.plaintext.toString('hex'))).size).toBe(256);
    expect(await app.decrypt(batch[255]!.ciphertext, context)).toEqual(batch[255]!.plaintext);
  });

  describe('bad input: problem+json with a FLT_ code, nothing changed, audited', () => {
    let name: string;
    let other: string;
    let sealed: string;
    let otherSealed: string;
    beforeAll(async () => {
      name = kms.name('bad');
      other = kms.name('bad-other');
      await operator.createKey({ name });
      await operator.createKey({ name: other });
      sealed = await app.encrypt(name, Buffer.from('payload'), { tenant: 'a' });
      otherSealed = (await app.generateDataKey(other, { tenant: 'a' })).ciphertext;
    });

    const flip = (ct: string) => {
      const i = ct.length - 10;
      return ct.slice(0, i) + (ct[i] === 'A' ? 'B' : 'A') + ct.slice(i + 1);
    };
    const cases: Array<{ name: string; code: string; status: number; run: () => Promise<unknown> }> = [
      {
        name: 'another context',
        code: 'FLT_KMS_CIPHERTEXT_INVALID',
        status: 400,
        run: () => app.decrypt(sealed, { tenant: 'b' }),
      },
      { name: 'no context', code: 'FLT_KMS_CIPHERTEXT_INVALID', status: 400, run: () => app.decrypt(sealed) },
      {
        name: 'a changed byte',
        code: 'FLT_KMS_CIPHERTEXT_INVALID',
        status: 400,
        run: () => app.decrypt(flip(sealed), { tenant: 'a' }),
      },
      {
        name: 'a data key sealed by another key',
        code: 'FLT_KMS_CIPHERTEXT_INVALID',
        status: 400,
        run: () => app.decrypt(otherSealed.replace(`:${other}:`, `:${name}:`), { tenant: 'a' }),
      },
      {
        name: 'not a ciphertext',
        code: 'FLT_KMS_CIPHERTEXT_INVALID',
        status: 400,
        run: () => app.decrypt('kms:v1:nope', {}),
      },
      {
        name: 'a caller with no grant',
        code: 'FLT_POLICY_DENIED',
        status: 403,
        run: async () => (await kms.as('stranger')).decrypt(sealed, { tenant: 'a' }),
      },
      {
        name: 'the operator decrypting',
        code: 'FLT_POLICY_DENIED',
        status: 403,
        run: () => operator.decrypt(sealed, { tenant: 'a' }),
      },
      {
        name: 'a bad key name',
        code: 'FLT_VALIDATION',
        status: 400,
        run: () => app.encrypt('Bad_Name', Buffer.from('x')),
      },
      {
        name: 'a payload over 4 KiB',
        code: 'FLT_VALIDATION',
        status: 400,
        run: () => app.encrypt(name, Buffer.alloc(4097)),
      },
      {
        name: 'an unknown key',
        code: 'FLT_NOT_FOUND',
        status: 404,
        run: () => app.encrypt(kms.name('missing'), Buffer.from('x')),
      },
      {
        name: 'a batch over 256',
        code: 'FLT_VALIDATION',
        status: 400,
        run: () => app.generateDataKeys(name, 257),
      },
    ];
    it.each(cases)('$name → $code', async (c) => {
      const before = await operator.describeKey(name);
      const auditBefore = (await kms.auditRecords()).length;
      expect(await refusal(c.run())).toMatchObject({ code: c.code, status: c.status });
      expect(await operator.describeKey(name)).toEqual(before);
      const records = (await kms.auditRecords()).slice(auditBefore);
      expect(records.some((r) => r.outcome !== 'success' && JSON.stringify(r).includes(c.code))).toBe(true);
    });

    it('answers refusals as problem+json (RFC 9457) with the stable code', async () => {
      const res = await kms.raw('app', 'POST', '/v1/decrypt', {
        ciphertext: sealed,
        context: { tenant: 'b' },
      });
      expect(res.status).toBe(400);
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect(res.json).toMatchObject({
        type: 'urn:flotilla:problem:kms-ciphertext-invalid',
        code: 'FLT_KMS_CIPHERTEXT_INVALID',
        status: 400,
      });
      // No plaintext, no key material, nothing about the key but its name.
      expect(JSON.stringify(res.json)).not.toMatch(/plaintext/);
    });

    it('a disabled key and a key pending deletion refuse every use, and come back', async () => {
      await operator.disableKey(name);
      expect(await refusal(app.decrypt(sealed, { tenant: 'a' }))).toMatchObject({
        code: 'FLT_KMS_KEY_DISABLED',
        status: 409,
      });
      expect(await refusal(app.generateDataKey(name))).toMatchObject({ code: 'FLT_KMS_KEY_DISABLED' });
      await operator.enableKey(name);
      expect((await app.decrypt(sealed, { tenant: 'a' })).toString()).toBe('payload');

      expect(await refusal(operator.scheduleKeyDeletion(name, 3))).toMatchObject({ code: 'FLT_VALIDATION' });
      const pending = await operator.scheduleKeyDeletion(name, 7);
      expect(pending.state).toBe('pending-deletion');
      expect(await refusal(app.decrypt(sealed, { tenant: 'a' }))).toMatchObject({
        code: 'FLT_KMS_KEY_PENDING_DELETION',
      });
      expect(await refusal(operator.enableKey(name))).toMatchObject({ code: 'FLT_KMS_KEY_PENDING_DELETION' });
      // As AWS KMS: a cancelled deletion leaves the key disabled.
      expect((await operator.cancelKeyDeletion(name)).state).toBe('disabled');
      await operator.enableKey(name);
      expect((await app.decrypt(sealed, { tenant: 'a' })).toString()).toBe('payload');
      const audit = await kms.auditRecords();
      expect(audit).toContainEqual(
        expect.objectContaining({
          action: 'kms.Decrypt',
          outcome: 'failure',
          reason: 'FLT_KMS_KEY_PENDING_DELETION',
        }),
      );
    });
  });

  it('rotation: old ciphertexts decrypt, new ones use the new version, ReEncrypt moves them, min version refuses the old', async () => {
    const name = kms.name('rotation');
    await operator.createKey({ name });
    const ctx = { doc: '1' };
    const v1 = await app.encrypt(name, Buffer.from('before'), ctx);
    expect((await operator.rotateKey(name)).currentVersion).toBe(2);
    const v2 = await app.encrypt(name, Buffer.from('after'), ctx);
    expect(v1).toMatch(new RegExp(`^kms:v1:${name}:1:`));
    expect(v2).toMatch(new RegExp(`^kms:v1:${name}:2:`));
    expect((await app.decrypt(v1, ctx)).toString()).toBe('before');
    const moved = await app.reEncrypt(v1, ctx);
    expect(moved).toMatch(new RegExp(`^kms:v1:${name}:2:`));
    expect((await app.decrypt(moved, ctx)).toString()).toBe('before');

    expect(await refusal(operator.setMinDecryptionVersion(name, 3))).toMatchObject({
      code: 'FLT_BAD_REQUEST',
    });
    expect((await operator.setMinDecryptionVersion(name, 2)).minDecryptionVersion).toBe(2);
    expect(await refusal(app.decrypt(v1, ctx))).toMatchObject({
      code: 'FLT_KMS_KEY_VERSION_REFUSED',
      status: 409,
    });
    expect(await refusal(app.reEncrypt(v1, ctx))).toMatchObject({ code: 'FLT_KMS_KEY_VERSION_REFUSED' });
    expect((await app.decrypt(moved, ctx)).toString()).toBe('before');
  });

  it('rotates automatically when rotationDays elapsed, and destroys a key after its waiting period', async () => {
    const rotating = kms.name('auto');
    const doomed = kms.name('doomed');
    await operator.createKey({ name: rotating, rotationDays: 1 });
    await operator.createKey({ name: doomed });
    await operator.scheduleKeyDeletion(doomed, 7);
    expect(await kms.internals.maintain()).toEqual({ rotated: [], destroyed: [] });
    kms.advance(2);
    const done = await kms.internals.maintain();
    expect(done.rotated).toContain(rotating);
    expect(done.destroyed).toEqual([]);
    expect((await operator.describeKey(rotating)).currentVersion).toBe(2);
    // Rotated just now: not again until another day has passed.
    expect((await kms.internals.maintain()).rotated).not.toContain(rotating);
    kms.advance(6);
    expect((await kms.internals.maintain()).destroyed).toContain(doomed);
    expect(await refusal(operator.describeKey(doomed))).toMatchObject({ code: 'FLT_NOT_FOUND' });
    // Who used it stays answerable.
    expect(
      (await operator.usage(doomed, { since: '2000-01-01T00:00:00Z' })).map((r) => r.operation),
    ).toContain('DestroyKey');
  });

  it('key-usage monitoring: usage records, and kms.anomaly when a service starts using a key it never used', async () => {
    const name = kms.name('watched');
    await operator.createKey({ name });
    const sealed = await app.encrypt(name, Buffer.from('x'), { k: 'v' });
    await app.decrypt(sealed, { k: 'v' });
    const anomalies = async () =>
      (await kms.auditRecords()).filter((r) => r.action === 'kms.anomaly' && r.target === `Key::"${name}"`);
    expect(await anomalies()).toEqual([]);

    const newcomer = await kms.as('newcomer');
    await newcomer.decrypt(sealed, { k: 'v' });
    const raised = await anomalies();
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({
      actor: expect.stringContaining('/svc/newcomer'),
      details: { kind: 'new-caller' },
    });
    await newcomer.decrypt(sealed, { k: 'v' });
    expect(await anomalies()).toHaveLength(1);

    const records = await operator.usage(name);
    expect(records[0]).toMatchObject({
      caller: expect.stringContaining('/svc/newcomer'),
      operation: 'Decrypt',
      outcome: 'success',
      keyVersion: 1,
      context: { k: 'v' },
    });
    expect(records.map((r) => r.operation)).toEqual(
      expect.arrayContaining(['CreateKey', 'Encrypt', 'Decrypt']),
    );
    expect(await refusal(app.usage(name))).toMatchObject({ code: 'FLT_POLICY_DENIED' });

    const metrics = await kms.service.ctx.metrics.metrics();
    expect(metrics).toMatch(
      new RegExp(`kms_anomalies_total\\{key="${name}",caller="[^"]*newcomer",kind="new-caller"[^}]*\\} 1`),
    );
    expect(metrics).toMatch(
      new RegExp(
        `kms_key_operations_total\\{key="${name}",caller="[^"]*app",operation="Encrypt",outcome="success"[^}]*\\} 1`,
      ),
    );
  });

  it('two gates: any fleet service but the gateway reaches the API; the key decides', async () => {
    const name = kms.name('gates');
    await operator.createKey({ name });
    const sealed = await app.encrypt(name, Buffer.from('x'));
    // The endpoint gate (the kit's inbound check, policies/kms.cedar) lets `stranger` in …
    expect(await refusal((await kms.as('stranger')).decrypt(sealed))).toMatchObject({
      code: 'FLT_POLICY_DENIED',
      message: expect.stringContaining(`kms:Decrypt on key ${name}`),
    });
    // … but never the edge, which is refused before any route runs.
    expect(await refusal((await kms.as('gateway')).decrypt(sealed))).toMatchObject({
      code: 'FLT_FORBIDDEN',
      message: expect.stringContaining('gateway may not call POST /v1/decrypt'),
    });
  });

  it('a caller back after the anomaly window raises kms.anomaly again', async () => {
    const name = kms.name('returning');
    await operator.createKey({ name });
    const sealed = await app.encrypt(name, Buffer.from('x'));
    await app.decrypt(sealed);
    const raised = async () =>
      (await kms.auditRecords()).filter((r) => r.action === 'kms.anomaly' && r.target === `Key::"${name}"`);
    expect(await raised()).toEqual([]);
    kms.advance(31);
    await app.decrypt(sealed);
    expect(await raised()).toEqual([
      expect.objectContaining({
        actor: expect.stringContaining('/svc/app'),
        reason: expect.stringContaining('30 days'),
      }),
    ]);
  });

  it('a burst of decrypt denials raises kms.anomaly once', async () => {
    const name = kms.name('burst');
    await operator.createKey({ name });
    const sealed = await app.encrypt(name, Buffer.from('x'));
    const stranger = await kms.as('stranger');
    for (let i = 0; i < 12; i++) await refusal(stranger.decrypt(sealed));
    const raised = (await kms.auditRecords()).filter(
      (r) => r.action === 'kms.anomaly' && r.target === `Key::"${name}"`,
    );
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ details: { kind: 'decrypt-denials' } });
  });
});
