import { randomBytes } from 'node:crypto';
import { openDb } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupCommit } from '../src/ca/group-commit.js';
import { IssuanceStore } from '../src/ca/issuance-store.js';
import type { IssuedLeaf } from '../src/ca/issue.js';
import { createJoinToken, hashToken } from '../src/ca/join-tokens.js';
import { migrations } from '../src/migrations.js';

describe('GroupCommit', () => {
  it('flushes what was submitted together as one batch, in order, and answers after the flush', async () => {
    const batches: number[][] = [];
    const flushed = new Set<number>();
    const gc = new GroupCommit(async (items: number[]) => {
      batches.push(items);
      await new Promise((r) => setTimeout(r, 20));
      for (const i of items) flushed.add(i);
      return items.map((i) => i * 10);
    });
    const first = [1, 2, 3].map((i) =>
      gc.submit(i).then((out) => {
        // Never answered before the flush carrying the item has finished.
        expect(flushed.has(i)).toBe(true);
        return out;
      }),
    );
    await new Promise((r) => setImmediate(r));
    // Submitted while the first flush runs: they wait for the next one, together.
    const second = [4, 5].map((i) => gc.submit(i));
    expect(await Promise.all([...first, ...second])).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('rejects every item of a failed batch, and only that batch', async () => {
    let calls = 0;
    const gc = new GroupCommit(async (items: string[]) => {
      calls += 1;
      if (calls === 1) throw new Error('disk full');
      return items;
    });
    const failed = [gc.submit('a'), gc.submit('b')];
    await expect(failed[0]).rejects.toThrow('disk full');
    await expect(failed[1]).rejects.toThrow('disk full');
    await expect(gc.submit('c')).resolves.toBe('c');
  });

  it('refuses a flush that does not answer every item', async () => {
    const gc = new GroupCommit(async (items: number[]) => items.slice(1));
    const all = [gc.submit(1), gc.submit(2)];
    await expect(all[0]).rejects.toThrow(/1 results for 2 items/);
    await expect(all[1]).rejects.toThrow(/1 results for 2 items/);
  });

  it('caps a batch at maxBatch', async () => {
    const sizes: number[] = [];
    const gc = new GroupCommit(async (items: number[]) => {
      sizes.push(items.length);
      return items;
    }, 2);
    await Promise.all([1, 2, 3, 4, 5].map((i) => gc.submit(i)));
    expect(sizes).toEqual([2, 2, 1]);
    expect(() => new GroupCommit(async () => [], 0)).toThrow(RangeError);
  });
});

describe('IssuanceStore (group commit on the database)', () => {
  let db: Awaited<ReturnType<typeof openDb>>;
  let store: IssuanceStore;
  const leaf = (): IssuedLeaf => ({
    der: Buffer.alloc(0),
    pem: '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n',
    serial: randomBytes(16).toString('hex'),
    issuerId: 'int-1',
    spiffeId: 'spiffe://flotilla.local/svc/videos',
    notBefore: new Date(),
    notAfter: new Date(Date.now() + 3600_000),
  });
  const stored = async (serial: string) =>
    (await db.query('SELECT 1 FROM ca_certificates WHERE serial = $1', [serial])).rows.length === 1;

  beforeAll(async () => {
    db = await openDb({ service: 'control', inMemory: true, migrations });
    await db.query(
      `INSERT INTO ca_authorities (id, kind, cert_pem, key_iv, key_tag, key_ct, not_after)
       VALUES ('int-1', 'intermediate', 'x', 'x', 'x', 'x', now() + interval '1 day')`,
    );
    store = new IssuanceStore(db);
  });
  afterAll(() => db?.close());

  it('stores each record of a batch durably before answering, and uses each token once', async () => {
    const tokens = await Promise.all([1, 2, 3].map(() => createJoinToken(db, 'videos', 600)));
    const now = new Date();
    const leaves = tokens.map(() => leaf());
    const results = await Promise.all(
      tokens.map((t, i) =>
        store
          .record({
            leaf: leaves[i] as IssuedLeaf,
            service: 'videos',
            token: { hash: hashToken(t.token), now },
          })
          .then(async (ok) => ({ ok, visible: await stored((leaves[i] as IssuedLeaf).serial) })),
      ),
    );
    expect(results).toEqual(tokens.map(() => ({ ok: true, visible: true })));
    for (const t of tokens)
      expect(await store.peek(t.token, new Date())).toMatchObject({ problem: 'token_used' });
  });

  it('lets exactly the first of concurrent uses of one token win, in one batch or across batches', async () => {
    const token = await createJoinToken(db, 'videos', 600);
    const now = new Date();
    const hash = hashToken(token.token);
    const leaves = [leaf(), leaf(), leaf()];
    const batch = await Promise.all(
      leaves.map((l) => store.record({ leaf: l, service: 'videos', token: { hash, now } })),
    );
    expect(batch).toEqual([true, false, false]);
    expect(await Promise.all(leaves.map((l) => stored(l.serial)))).toEqual([true, false, false]);
    const later = leaf();
    expect(await store.record({ leaf: later, service: 'videos', token: { hash, now } })).toBe(false);
    expect(await stored(later.serial)).toBe(false);
  });

  it('refuses expired and unknown tokens without storing, and stores renewals without one', async () => {
    const expired = await createJoinToken(db, 'videos', 1, new Date(Date.now() - 10_000));
    const now = new Date();
    const a = leaf();
    const b = leaf();
    const c = leaf();
    const results = await Promise.all([
      store.record({ leaf: a, service: 'videos', token: { hash: hashToken(expired.token), now } }),
      store.record({ leaf: b, service: 'videos', token: { hash: hashToken('x'.repeat(43)), now } }),
      store.record({ leaf: c, service: 'videos' }),
    ]);
    expect(results).toEqual([false, false, true]);
    expect([await stored(a.serial), await stored(b.serial), await stored(c.serial)]).toEqual([
      false,
      false,
      true,
    ]);
    expect(await store.peek(expired.token, now)).toMatchObject({
      problem: 'token_expired',
      service: 'videos',
    });
    expect(await store.peek('nope', now)).toEqual({ problem: 'token_malformed' });
  });

  it('fails the whole batch, and stores none of it, when the statement fails', async () => {
    const good = leaf();
    const duplicate = leaf();
    await store.record({ leaf: duplicate, service: 'videos' });
    const results = await Promise.allSettled([
      store.record({ leaf: good, service: 'videos' }),
      store.record({ leaf: duplicate, service: 'videos' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await stored(good.serial)).toBe(false);
  });
});
