import { type Db, openDb } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../src/migrations.js';
import { dbAdapter, sweepExpired } from '../src/provider/adapter.js';

function adapterContract(name: string, open: () => Promise<Db>) {
  describe(`oidc-provider adapter on ${name}`, () => {
    let db: Db;
    beforeAll(async () => {
      db = await open();
      await db.query('DELETE FROM oidc_models');
    });
    afterAll(async () => db?.close());

    it('upserts, finds by id, uid, userCode; hides and sweeps expired rows', async () => {
      const Adapter = dbAdapter(db);
      const sessions = new Adapter('Session');
      await sessions.upsert('s1', { uid: 'u1', accountId: 'a' }, 60);
      await sessions.upsert('s1', { uid: 'u1', accountId: 'b' }, 60);
      expect(await sessions.find('s1')).toMatchObject({ accountId: 'b' });
      expect(await sessions.findByUid('u1')).toMatchObject({ accountId: 'b' });
      expect(await new Adapter('Grant').find('s1')).toBeUndefined();
      const devices = new Adapter('DeviceCode');
      await devices.upsert('d1', { userCode: 'ABCD-EFGH' }, 60);
      expect(await devices.findByUserCode('ABCD-EFGH')).toMatchObject({ userCode: 'ABCD-EFGH' });
      await sessions.upsert('old', { uid: 'u2' }, 1);
      await db.query("UPDATE oidc_models SET expires_at = now() - interval '1 second' WHERE id = 'old'");
      expect(await sessions.find('old')).toBeUndefined();
      expect(await sweepExpired(db)).toBeGreaterThanOrEqual(1);
      await sessions.destroy('s1');
      expect(await sessions.find('s1')).toBeUndefined();
    });

    it('consumes and revokes by grant id', async () => {
      const Adapter = dbAdapter(db);
      const codes = new Adapter('AuthorizationCode');
      await codes.upsert('c1', { grantId: 'g1' }, 60);
      await codes.upsert('c2', { grantId: 'g1' }, 60);
      await codes.upsert('c3', { grantId: 'g2' }, 60);
      expect((await codes.find('c1'))?.consumed).toBeUndefined();
      await codes.consume('c1');
      expect((await codes.find('c1'))?.consumed).toEqual(expect.any(Number));
      await codes.revokeByGrantId('g1');
      expect(await codes.find('c2')).toBeUndefined();
      expect(await codes.find('c3')).toBeDefined();
    });
  });
}

adapterContract('PGlite', () => openDb({ service: 'auth', inMemory: true, migrations }));

const url = process.env.DATABASE_URL;
if (url) {
  adapterContract('PostgreSQL', () =>
    openDb({ service: 'auth', url, schema: 'auth_adapter_test', migrations }),
  );
} else {
  console.warn('DATABASE_URL is not set: skipping the PostgreSQL adapter contract');
  describe.skip('oidc-provider adapter on PostgreSQL (DATABASE_URL unset)', () => {
    it('runs only with DATABASE_URL', () => undefined);
  });
}
