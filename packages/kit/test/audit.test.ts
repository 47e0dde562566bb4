import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AuditLog, verifyAuditFile } from '@flotilla/kit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tempHome } from './helpers.js';

describe('the audit trail', () => {
  let home: Awaited<ReturnType<typeof tempHome>>;
  let file: string;
  beforeEach(async () => {
    home = await tempHome();
    file = join(home.dir, 'audit', 'svc.jsonl');
    const log = await AuditLog.open(file, 'svc');
    for (const i of [1, 2, 3, 4]) {
      await log.append({
        actor: `user-${i}`,
        action: 'login.success',
        target: 'session',
        outcome: 'success',
      });
    }
    await log.close();
  });
  afterEach(() => home.remove());

  const lines = async () => (await readFile(file, 'utf8')).trim().split('\n');

  it('verifies an untouched chain', async () => {
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 4 });
  });

  it('continues the same chain after reopening', async () => {
    const log = await AuditLog.open(file, 'svc');
    const record = await log.append({
      actor: 'admin',
      action: 'user.disable',
      target: 'user-2',
      outcome: 'success',
    });
    await log.close();
    expect(record.seq).toBe(4);
    expect(record.prev).toBe(JSON.parse((await lines())[3] ?? '').hash);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 5 });
  });

  it('hashes a record the same whatever order its fields were written in', async () => {
    const all = await lines();
    const record = JSON.parse(all[1] ?? '') as Record<string, unknown>;
    const reversed = Object.fromEntries(Object.entries(record).reverse());
    await writeFile(file, `${[all[0], JSON.stringify(reversed), all[2], all[3]].join('\n')}\n`);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 4 });
  });

  it('verifies a record whose details JSON holds in another form (a Date is written as its ISO string)', async () => {
    const log = await AuditLog.open(file, 'svc');
    await log.append({
      actor: 'admin',
      action: 'key.rotate',
      outcome: 'success',
      details: { at: new Date(0), ratio: Number.NaN, steps: [1, undefined] },
    });
    await log.close();
    expect(JSON.parse((await lines())[4] ?? '').details).toEqual({
      at: '1970-01-01T00:00:00.000Z',
      ratio: null,
      steps: [1, null],
    });
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 5 });
  });

  it('writes concurrent appends in order without breaking the chain', async () => {
    const log = await AuditLog.open(file, 'svc');
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        log.append({ actor: 'a', action: 'x.y', outcome: 'success', details: { i } }),
      ),
    );
    await log.close();
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 24 });
  });

  it('commits concurrent appends in groups: fewer syncs than records, each answered with its place in the chain', async () => {
    const log = await AuditLog.open(file, 'svc');
    const handle = (log as unknown as { file: object }).file;
    const proto = Object.getPrototypeOf(handle) as { datasync: () => Promise<void> };
    const sync = vi.spyOn(proto, 'datasync');
    const records = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        log.append({ actor: 'a', action: 'x.y', outcome: 'success', details: { i } }),
      ),
    );
    const syncs = sync.mock.calls.length;
    sync.mockRestore();
    await log.close();
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 4 + i));
    expect(records.map((r) => (r.details as { i: number }).i)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    expect(syncs).toBeGreaterThan(0);
    expect(syncs).toBeLessThan(50);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 54 });
  });

  it('a batch that cannot be written fails its callers; the chain goes on intact', async () => {
    const log = await AuditLog.open(file, 'svc');
    const handle = (log as unknown as { file: object }).file;
    const proto = Object.getPrototypeOf(handle) as { write: (...a: unknown[]) => Promise<unknown> };
    const write = vi
      .spyOn(proto, 'write')
      .mockRejectedValueOnce(new Error('ENOSPC: no space left on device'));
    const failed = log.append({ actor: 'a', action: 'x.y', outcome: 'success' });
    await expect(failed).rejects.toThrow(/ENOSPC/);
    write.mockRestore();
    const next = await log.append({ actor: 'b', action: 'x.y', outcome: 'success' });
    await log.close();
    expect(next.seq).toBe(4);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 5 });
  });

  it('detects an altered record', async () => {
    const all = await lines();
    all[1] = (all[1] ?? '').replace('user-2', 'user-9');
    await writeFile(file, `${all.join('\n')}\n`);
    expect(await verifyAuditFile(file)).toMatchObject({
      ok: false,
      line: 2,
      reason: expect.stringMatching(/altered/),
    });
  });

  it('detects an altered record whose hash was recomputed (the next link breaks)', async () => {
    const { hashRecord } = await import('../src/audit/record.js');
    const all = await lines();
    const record = JSON.parse(all[1] ?? '');
    record.outcome = 'failure';
    const { hash: _old, ...body } = record;
    record.hash = hashRecord(body);
    all[1] = JSON.stringify(record);
    await writeFile(file, `${all.join('\n')}\n`);
    expect(await verifyAuditFile(file)).toMatchObject({
      ok: false,
      line: 3,
      reason: expect.stringMatching(/link/),
    });
  });

  it('detects a removed record and reordered records', async () => {
    const all = await lines();
    await writeFile(file, `${[all[0], all[2], all[3]].join('\n')}\n`);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: false, line: 2 });
    await writeFile(file, `${[all[0], all[2], all[1], all[3]].join('\n')}\n`);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: false, line: 2 });
  });

  it('detects a line that is not JSON', async () => {
    const all = await lines();
    all[2] = '{"seq": 2, broken';
    await writeFile(file, `${all.join('\n')}\n`);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: false, line: 3, reason: 'not valid JSON' });
  });
});
