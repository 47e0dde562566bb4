import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AmqpTransport, amqpLogin, type Envelope } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/index.js';

// `flotilla bus provision` against the machine's RabbitMQ, in a vhost of its own.
const url = process.env.BUS_URL;
if (!url)
  console.warn('flotilla bus provision on RabbitMQ skipped: set BUS_URL=amqp://guest:guest@127.0.0.1:5672');

const root = join(import.meta.dirname, '..', '..', '..');
const vhost = `flt-provision-${process.pid}`;
const trustDomain = 'provision.test';
const id = (service: string) => `spiffe://${trustDomain}/svc/${service}`;
const SERVICES = ['streaming', 'history', 'billing'];

const fleet = `version: 1
name: demo
trustDomain: ${trustDomain}
auth:
  audience: demo-api
  clients: []
roles: [viewer]
gateway:
  routes: []
services:
  - name: streaming
    entry: a.ts
    bus: { send: [viewed], publish: [video-viewed] }
  - name: history
    entry: b.ts
    bus: { consume: [viewed], subscribe: [video-viewed] }
  - name: billing
    entry: c.ts
    bus: { consume: [invoices] }
`;

async function cli(env: Record<string, string>, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(`${a.join(' ')}\n`));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  try {
    return { code: await main(argv), out: out.join(''), err: err.join('') };
  } finally {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  }
}

const envelope = (sender: string): Envelope => ({
  id: randomUUID(),
  type: 'viewed',
  time: new Date().toISOString(),
  sender,
  attempt: 1,
  body: { videoId: 'v1' },
});

describe.skipIf(!url)('flotilla bus provision (BUS_URL, a vhost of its own)', () => {
  let dir: string;
  let home: string;
  let file: string;
  const open: AmqpTransport[] = [];
  /** BUS_URL on the test vhost, without its user: each service logs in with its provisioned password. */
  const vhostUrl = () => {
    const u = new URL(url!);
    u.username = '';
    u.password = '';
    u.pathname = `/${encodeURIComponent(vhost)}`;
    return u.toString();
  };
  const as = async (service: string) => {
    const t = await AmqpTransport.open({
      url: vhostUrl(),
      identity: id(service),
      login: amqpLogin({ url: vhostUrl(), service, identity: id(service), home }),
      unavailableAfterMs: 3_000,
    });
    open.push(t);
    return t;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-provision-'));
    home = join(dir, '.flotilla');
    file = join(dir, 'flotilla.yaml');
    await mkdir(join(dir, 'policies'));
    await cp(join(root, 'policies', 'schema.cedarschema'), join(dir, 'policies', 'schema.cedarschema'));
    await writeFile(file, fleet);
    const { code, err } = await cli({}, 'bus', 'provision', '--file', file, '--home', home, '--vhost', vhost);
    expect(err).toBe('');
    expect(code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(open.map((t) => t.close()));
    const ctl = (...a: string[]) =>
      promisify(execFile)('rabbitmqctl', a, { timeout: 60_000 }).catch(() => undefined);
    await ctl('delete_vhost', vhost);
    for (const s of SERVICES) await ctl('delete_user', id(s));
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('writes each password to <home>/secrets/bus/<service>, mode 0600', async () => {
    for (const s of SERVICES) {
      const f = join(home, 'secrets', 'bus', s);
      expect((await stat(f)).mode & 0o777).toBe(0o600);
      expect((await readFile(f, 'utf8')).trim().length).toBeGreaterThanOrEqual(32);
    }
  });

  it('lets a sender send to its queue, and its consumer receive it', async () => {
    const streaming = await as('streaming');
    await streaming.declareQueue('viewed'); // declared by provision; the sender only checks it
    const sent = envelope(id('streaming'));
    await streaming.send('viewed', sent);
    const history = await as('history');
    await history.declareQueue('viewed');
    const got = await new Promise<{ id: string; publisher: string | undefined }>((resolve) => {
      void history.consume(
        { queue: 'viewed' },
        async (d) => {
          await d.ack();
          resolve({ id: (JSON.parse(d.bytes.toString()) as Envelope).id, publisher: d.publisher });
        },
        { prefetch: 1 },
      );
    });
    // The broker vouches for the publisher: its user, from the message's checked user_id.
    expect(got).toEqual({ id: sent.id, publisher: id('streaming') });
  });

  it("refuses a message whose user_id is another service's: the broker checks it", async () => {
    const history = await as('history'); // may write to the default exchange (its retries)
    const forged = Buffer.from(JSON.stringify(envelope(id('streaming'))));
    await expect(
      history.publishBytes(
        '',
        'flotilla.q.viewed',
        forged,
        { messageId: randomUUID(), userId: id('streaming') },
        true,
      ),
    ).rejects.toMatchObject({ code: 'FLT_BUS_REFUSED' });
  });

  it('refuses a consume of a queue the service does not consume: FLT_BUS_ACCESS_REFUSED', async () => {
    const streaming = await as('streaming');
    await expect(
      streaming.consume({ queue: 'viewed' }, async () => undefined, { prefetch: 1 }),
    ).rejects.toMatchObject({ code: 'FLT_BUS_ACCESS_REFUSED' });
    await expect(
      streaming.consume({ queue: 'invoices' }, async () => undefined, { prefetch: 1 }),
    ).rejects.toMatchObject({ code: 'FLT_BUS_ACCESS_REFUSED' });
    expect(streaming.status).toBe('up'); // a refused channel, not a lost connection
  });

  it("refuses declaring another service's queue, or one the fleet file does not name", async () => {
    const streaming = await as('streaming');
    await expect(streaming.declareSubscription('video-viewed', 'streaming')).rejects.toMatchObject({
      code: 'FLT_BUS_ACCESS_REFUSED',
    });
    await expect(streaming.declareQueue('not-in-the-fleet')).rejects.toMatchObject({
      code: 'FLT_BUS_ACCESS_REFUSED',
    });
  });

  it('refuses a publish to a topic the service does not publish, without a hang', async () => {
    const history = await as('history');
    await expect(
      history.publish('video-viewed', { ...envelope(id('history')), type: 'video-viewed' }),
    ).rejects.toMatchObject({ code: 'FLT_BUS_ACCESS_REFUSED' });
    const streaming = await as('streaming');
    await streaming.publish('video-viewed', { ...envelope(id('streaming')), type: 'video-viewed' });
  });

  it('refuses a login with a wrong password', async () => {
    const wrong = join(dir, 'wrong-password');
    await writeFile(wrong, 'not-the-password\n', { mode: 0o600 });
    await expect(
      AmqpTransport.open({
        url: vhostUrl(),
        identity: id('streaming'),
        login: amqpLogin({
          url: vhostUrl(),
          service: 'streaming',
          identity: id('streaming'),
          home,
          passwordFile: wrong,
        }),
      }),
    ).rejects.toMatchObject({ code: 'FLT_BUS_ACCESS_REFUSED' });
  });

  it('--dry-run prints users and permission regexes, and no secret', async () => {
    const { code, out } = await cli({}, 'bus', 'provision', '--file', file, '--vhost', vhost, '--dry-run');
    expect(code).toBe(0);
    expect(out).toContain(id('streaming'));
    expect(out).toContain('^(amq\\.default|flotilla\\.t\\.video-viewed)$');
    for (const s of SERVICES)
      expect(out).not.toContain((await readFile(join(home, 'secrets', 'bus', s), 'utf8')).trim());
  });

  it('--definitions writes the JSON (0600) instead of importing it; --tls makes passwordless users', async () => {
    const out = join(dir, 'definitions.json');
    const tlsHome = join(dir, 'tls-home');
    const env = { FLOTILLA_RABBITMQCTL: join(dir, 'no-such-rabbitmqctl') }; // proves nothing is imported
    const { code } = await cli(
      env,
      'bus',
      'provision',
      '--file',
      file,
      '--home',
      tlsHome,
      '--tls',
      '--definitions',
      out,
    );
    expect(code).toBe(0);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const defs = JSON.parse(await readFile(out, 'utf8')) as {
      users: { name: string; password_hash?: string }[];
    };
    expect(defs.users).toEqual(SERVICES.map((s) => ({ name: id(s), password_hash: '', tags: [] })));
    await expect(stat(join(tlsHome, 'secrets', 'bus'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('says so in one line when rabbitmqctl fails, and writes no password', async () => {
    const failHome = join(dir, 'h3');
    const env = { RABBITMQ_NODENAME: `no-such-node-${process.pid}@localhost` };
    const { code, err } = await cli(
      env,
      'bus',
      'provision',
      '--file',
      file,
      '--home',
      failHome,
      '--vhost',
      vhost,
    );
    expect(code).toBe(1);
    expect(err).toMatch(/rabbitmqctl import_definitions failed: .*no-such-node/);
    expect(err.trim().split('\n').length).toBeLessThanOrEqual(2);
    await expect(stat(failHome)).rejects.toMatchObject({ code: 'ENOENT' });
  }, 60_000);

  it('says so in one line when rabbitmqctl is missing', async () => {
    const env = { FLOTILLA_RABBITMQCTL: join(dir, 'no-such-rabbitmqctl') };
    const { code, err } = await cli(
      env,
      'bus',
      'provision',
      '--file',
      file,
      '--home',
      join(dir, 'h2'),
      '--vhost',
      vhost,
    );
    expect(code).toBe(1);
    expect(err).toMatch(/no-such-rabbitmqctl not found/);
    expect(err.trim().split('\n').length).toBeLessThanOrEqual(2);
  });
});
