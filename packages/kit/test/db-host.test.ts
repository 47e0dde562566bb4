import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { DbHost, openEmbedded } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempHome } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/db-child.ts', import.meta.url));

interface TestReply {
  ok?: boolean;
  ready?: boolean;
  rows?: Array<{ name: string; at: unknown; data: unknown }>;
  error?: string;
  code?: string;
}

/** Starts a service process the way `flotilla up` does: advanced IPC, FLOTILLA_DB=host. */
async function startChild(host: DbHost, service: string): Promise<ChildProcess> {
  const child = fork(CHILD, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, FLOTILLA_DB: 'host' },
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  host.attach(child, service);
  await ask(child, undefined);
  return child;
}

/** Sends a test command (or just waits for the next test reply) and returns the answer. */
function ask(child: ChildProcess, cmd: Record<string, unknown> | undefined): Promise<TestReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: { ch?: string } & TestReply) => {
      if (msg?.ch !== 'test') return;
      child.off('message', onMessage);
      resolve(msg);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
    if (cmd) child.send({ ch: 'test', ...cmd });
  });
}

describe('the fleet database host, over real IPC channels', () => {
  let home: Awaited<ReturnType<typeof tempHome>>;
  let host: DbHost;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    home = await tempHome();
    host = new DbHost({ open: (service) => openEmbedded({ service, home: home.dir }), idleTxMs: 60_000 });
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await host.close();
    await home.remove();
  });

  it('serves each process its own service database, whatever the process asks for', async () => {
    const a1 = await startChild(host, 'alpha');
    const a2 = await startChild(host, 'alpha');
    const b = await startChild(host, 'beta');
    children.push(a1, a2, b);
    expect(await ask(a1, { cmd: 'insert', name: 'from-a1' })).toEqual({ ch: 'test', ok: true });
    // A second instance of the same service sees the first one's row: one database.
    const seen = await ask(a2, { cmd: 'rows' });
    expect(seen.rows?.map((r) => r.name)).toEqual(['from-a1']);
    // Dates and bytes come back as they went in.
    expect(seen.rows?.[0]?.at).toEqual(new Date(0));
    expect(Array.from(seen.rows?.[0]?.data as Uint8Array)).toEqual([1, 2, 3]);
    // Another service's process reaches only its own database.
    expect((await ask(b, { cmd: 'rows' })).rows).toEqual([]);
    // PostgreSQL's error fields survive the channel.
    const dup = await ask(a2, { cmd: 'insert', name: 'from-a1' });
    expect(dup).toMatchObject({ ok: false, code: '23505' });
    expect(dup.error).toMatch(/duplicate key/);
  });

  it('rolls back the transaction of a process that dies inside it, and keeps serving the others', async () => {
    const holder = await startChild(host, 'gamma');
    const other = await startChild(host, 'gamma');
    children.push(holder, other);
    expect(await ask(holder, { cmd: 'hold-transaction', name: 'half-done' })).toMatchObject({ ok: true });
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    // The other instance's write waited for the lock, then ran after the rollback.
    expect(await ask(other, { cmd: 'insert', name: 'after' })).toMatchObject({ ok: true });
    const { rows } = await ask(other, { cmd: 'rows' });
    expect(rows?.map((r) => r.name)).toEqual(['after']);
  });

  it('rolls back a transaction left idle, so one stuck process cannot stall its service', async () => {
    const quick = new DbHost({ open: (service) => openEmbedded({ service, home: home.dir }), idleTxMs: 300 });
    try {
      const holder = await startChild(quick, 'delta');
      const other = await startChild(quick, 'delta');
      children.push(holder, other);
      expect(await ask(holder, { cmd: 'hold-transaction', name: 'stuck' })).toMatchObject({ ok: true });
      expect(await ask(other, { cmd: 'insert', name: 'not-stalled' })).toMatchObject({ ok: true });
      const { rows } = await ask(other, { cmd: 'rows' });
      expect(rows?.map((r) => r.name)).toEqual(['not-stalled']);
    } finally {
      await quick.close();
    }
  });

  it('answers a malformed request with an error and stays up', async () => {
    const child = await startChild(host, 'alpha');
    children.push(child);
    for (const [request, message] of [
      [{ op: 'drop everything' }, 'unknown database operation "drop everything"'],
      [{ op: 'query', sql: 42 }, 'sql must be a string'],
      [{ op: 'query', sql: 'SELECT 1', params: 'x' }, 'params must be an array'],
      [{ op: 'commit', tx: 'all' }, 'tx must be a number'],
      [{ op: 'commit', tx: 12345 }, 'no open transaction 12345 (it ended, or was rolled back after idling)'],
    ] as const) {
      const { answer } = (await ask(child, {
        cmd: 'raw',
        request: { ch: 'flotilla-db', id: 999_999, ...request },
      })) as TestReply & { answer?: unknown };
      expect(answer).toMatchObject({ ok: false, error: { message } });
    }
    expect((await ask(child, { cmd: 'rows' })).ok).toBe(true);
  });
});
