import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AmqpTransport, amqpLogin, type Envelope, type TlsMaterial } from '@flotilla/kit';
import { TestCa } from '@flotilla/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/index.js';

// EXTERNAL login: a service logs in to RabbitMQ with its workload certificate, and no
// password exists. A second RabbitMQ node of its own (own ports, own data, own cookie),
// never the machine's main node, with TLS only, trusting a test fleet CA.

const BIN = '/usr/lib/rabbitmq/bin';
const url = process.env.BUS_URL;
const haveRabbit = existsSync(join(BIN, 'rabbitmq-server'));
if (!url || !haveRabbit)
  console.warn(
    'RabbitMQ EXTERNAL login skipped: needs BUS_URL (a machine with RabbitMQ) and rabbitmq-server in /usr/lib/rabbitmq/bin',
  );

const root = join(import.meta.dirname, '..', '..', '..');
const trustDomain = 'external.test';

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
    bus: { send: [viewed] }
  - name: history
    entry: b.ts
    bus: { consume: [viewed] }
`;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const envelope = (sender: string): Envelope => ({
  id: randomUUID(),
  type: 'viewed',
  time: new Date().toISOString(),
  sender,
  attempt: 1,
  body: {},
});

describe.skipIf(!url || !haveRabbit)(
  'RabbitMQ EXTERNAL login with workload certificates (a node of its own)',
  () => {
    let dir: string;
    let node: string;
    let port: number;
    let server: ChildProcess | undefined;
    let ca: TestCa;
    let env: NodeJS.ProcessEnv;
    const open: AmqpTransport[] = [];
    const ctl = (...args: string[]) =>
      promisify(execFile)(join(BIN, 'rabbitmqctl'), ['-n', node, ...args], { env, timeout: 60_000 });
    const amqps = () => `amqps://localhost:${port}`;
    const connect = (identity: string, tls: TlsMaterial) =>
      AmqpTransport.open({
        url: amqps(),
        identity,
        login: amqpLogin({ url: amqps(), service: 'x', identity, home: dir, tls: () => tls }),
        unavailableAfterMs: 3_000,
      }).then((t) => (open.push(t), t));

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'flotilla-rabbit-tls-'));
      node = `flt-tls-${process.pid}@localhost`;
      port = await freePort();
      ca = await TestCa.create({ trustDomain });
      const serverTls = await ca.issue('rabbitmq');
      await writeFile(join(dir, 'ca.pem'), ca.bundle);
      await writeFile(join(dir, 'server.pem'), serverTls.cert);
      await writeFile(join(dir, 'server-key.pem'), serverTls.key, { mode: 0o600 });
      await writeFile(
        join(dir, 'rabbitmq.conf'),
        [
          'listeners.tcp = none',
          `listeners.ssl.default = ${port}`,
          `ssl_options.cacertfile = ${join(dir, 'ca.pem')}`,
          `ssl_options.certfile = ${join(dir, 'server.pem')}`,
          `ssl_options.keyfile = ${join(dir, 'server-key.pem')}`,
          'ssl_options.verify = verify_peer',
          'ssl_options.fail_if_no_peer_cert = true',
          'ssl_options.depth = 3',
          'auth_mechanisms.1 = EXTERNAL',
          'ssl_cert_login_from = subject_alternative_name',
          'ssl_cert_login_san_type = uri',
          'ssl_cert_login_san_index = 0',
          '',
        ].join('\n'),
      );
      env = {
        ...process.env,
        HOME: dir, // the node's and rabbitmqctl's Erlang cookie, not the main node's
        RABBITMQ_NODENAME: node,
        RABBITMQ_NODE_PORT: String(await freePort()),
        RABBITMQ_DIST_PORT: String(await freePort()),
        RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(dir, 'log'),
        RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
        RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
      };
      await promisify(execFile)(
        join(BIN, 'rabbitmq-plugins'),
        ['--offline', 'enable', 'rabbitmq_auth_mechanism_ssl'],
        {
          env,
          timeout: 60_000,
        },
      );
      server = spawn(join(BIN, 'rabbitmq-server'), [], { env, stdio: 'ignore', detached: true });
      let exited = false;
      server.on('exit', () => (exited = true));
      // await_startup fails at once until the node has registered with epmd: ask again.
      for (let attempt = 0; ; attempt++) {
        try {
          await ctl('await_startup', '--timeout', '60');
          break;
        } catch (err) {
          if (exited || attempt >= 60) throw err;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      // The users, passwordless, through the command under test: `flotilla bus provision --tls`.
      await mkdir(join(dir, 'fleet', 'policies'), { recursive: true });
      await cp(
        join(root, 'policies', 'schema.cedarschema'),
        join(dir, 'fleet', 'policies', 'schema.cedarschema'),
      );
      await writeFile(join(dir, 'fleet', 'flotilla.yaml'), fleet);
      for (const [k, v] of Object.entries({
        HOME: dir,
        RABBITMQ_NODENAME: node,
        FLOTILLA_RABBITMQCTL: join(BIN, 'rabbitmqctl'),
      }))
        vi.stubEnv(k, v);
      vi.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        const file = join(dir, 'fleet', 'flotilla.yaml');
        const code = await main([
          'bus',
          'provision',
          '--tls',
          '--file',
          file,
          '--home',
          join(dir, 'home'),
          '--vhost',
          '/',
        ]);
        expect(code).toBe(0);
      } finally {
        vi.restoreAllMocks();
        vi.unstubAllEnvs();
      }
    }, 180_000);

    afterAll(async () => {
      await Promise.allSettled(open.map((t) => t.close()));
      if (server?.pid) {
        await ctl('stop').catch(() => undefined);
        try {
          process.kill(-server.pid, 'SIGKILL'); // whatever is left of its process group
        } catch {
          // already gone
        }
      }
      if (dir) await rm(dir, { recursive: true, force: true });
    }, 120_000);

    it('logs a service in with its workload certificate (EXTERNAL); no password exists', async () => {
      const streamingTls = await ca.issue('streaming');
      const historyTls = await ca.issue('history');
      const streaming = await connect(streamingTls.spiffeId, streamingTls);
      const history = await connect(historyTls.spiffeId, historyTls);
      const sent = envelope(streamingTls.spiffeId);
      await streaming.declareQueue('viewed');
      await streaming.send('viewed', sent);
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
      // The user RabbitMQ took from the certificate is the publisher it vouches for.
      expect(got).toEqual({ id: sent.id, publisher: streamingTls.spiffeId });
      const users = JSON.parse((await ctl('list_users', '--formatter', 'json')).stdout) as { user: string }[];
      expect(users.map((u) => u.user)).toEqual(
        expect.arrayContaining([historyTls.spiffeId, streamingTls.spiffeId]),
      );
      // The provisioned permissions hold for a certificate login too.
      await expect(
        streaming.consume({ queue: 'viewed' }, async () => undefined, { prefetch: 1 }),
      ).rejects.toMatchObject({ code: 'FLT_BUS_ACCESS_REFUSED' });
      await expect(readFile(join(dir, 'home', 'secrets', 'bus', 'streaming'))).rejects.toMatchObject({
        code: 'ENOENT',
      });
    });

    it('refuses a certificate from another CA', async () => {
      const other = await TestCa.create({ trustDomain });
      const forged = await other.issue('streaming');
      await expect(connect(forged.spiffeId, { ...forged, ca: ca.bundle })).rejects.toMatchObject({
        code: 'FLT_BUS_UNAVAILABLE',
      });
    });

    it('refuses a fleet certificate whose SPIFFE ID has no user, and a PLAIN login', async () => {
      const stranger = await ca.issue('stranger');
      await expect(connect(stranger.spiffeId, stranger)).rejects.toMatchObject({
        code: 'FLT_BUS_ACCESS_REFUSED',
      });
      const streamingTls = await ca.issue('streaming');
      const plain = `amqps://${encodeURIComponent(streamingTls.spiffeId)}:@localhost:${port}`;
      await expect(
        AmqpTransport.open({
          url: plain,
          identity: streamingTls.spiffeId,
          login: () => ({ cert: streamingTls.cert, key: streamingTls.key, ca: streamingTls.ca }),
        }),
      ).rejects.toMatchObject({ code: 'FLT_BUS_ACCESS_REFUSED' });
    });
  },
);
