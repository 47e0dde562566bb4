// `flotilla bus queues|topics|dead-letters|replay` against a running fleet on the
// embedded broker: the CLI acts as the `operator` workload over mTLS, which the policies
// let inspect and replay (bus:Inspect, bus:Replay); the broker audits each call. The
// fleet is the part these commands use — a control plane and the broker, found through
// <home>/fleet.json as `flotilla up` writes it — so the test stays light on a busy machine.
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AmqpAdmin, AmqpTransport, defineService, type Envelope, type RunningService } from '@flotilla/kit';
import { BrokerClient, type DeliveryStream } from '@flotilla/kit/contracts';
import { fleetJoiner } from '@flotilla/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBroker, startBroker } from '@flotilla/broker';
import { type RunningControl, startControl } from '@flotilla/control';
import { writeState } from '../src/up/fleet-state.js';

const REPO = join(import.meta.dirname, '..', '..', '..');
const BIN = join(REPO, 'packages', 'cli', 'bin', 'flotilla.js');
const ECHO = join(REPO, 'packages', 'testing', 'src', 'echo-main.ts');
const TEST_ENV = ['DATABASE_URL', 'REDIS_URL', 'BUS_URL', 'FLOTILLA_BROKER_URL', 'FLOTILLA_HOME'];

const FLEET = `version: 1
name: busops
control: { port: 0 }
auth: { port: 0, audience: https://localhost/api, clients: [] }
roles: [viewer]
gateway: { port: 0, httpPort: 0, routes: [{ method: GET, path: /api/echo, service: echo, upstreamPath: /, auth: public }] }
services:
  - name: echo
    entry: ${ECHO}
    bus: { send: [jobs], consume: [jobs], publish: [uploads], subscribe: [uploads] }
`;

// The test's own workloads: \`app\` sends and publishes, \`worker\` consumes and \`echo\`
// subscribes; none of them may inspect or replay (only the operator may).
const GRANTS = `
@id("test-app-sends")
permit (principal == Service::"app", action in [Action::"bus:Send", Action::"bus:Publish"], resource);
@id("test-worker-consumes")
permit (principal == Service::"worker", action == Action::"bus:Consume", resource == Queue::"jobs");
@id("test-echo-subscribes")
permit (principal == Service::"echo", action == Action::"bus:Subscribe", resource == Topic::"uploads");
`;

let dir: string;
let home: string;
let control: RunningControl | undefined;
let broker: RunningBroker | undefined;
const services: RunningService[] = [];

/** One CLI process, as an operator types it, on the fleet file `file` and the state in `at`. */
function flotilla(
  args: string[],
  at = home,
  file = 'flotilla.yaml',
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const argv = [BIN, ...args, '--home', at, '--file', join(dir, file)];
    const child = spawn(process.execPath, argv, {
      env: { ...process.env, FLOTILLA_CLI_TSX: '1', NO_COLOR: '1' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, out, err }));
    child.stdin.end();
  });
}

/** A workload of the fleet in this process, with a broker client as itself. */
async function workload(name: string): Promise<BrokerClient> {
  const joined = fleetJoiner(control!, { home, policies: join(dir, 'policies') });
  const svc = await defineService({ name, routes() {} }).start({ env: await joined(name) });
  services.push(svc);
  return new BrokerClient((r) => svc.ctx.call('broker', r));
}

/** Dead-letters `n` deliveries of a stream at once, then closes it. */
async function poison(bus: BrokerClient, stream: DeliveryStream, n: number): Promise<void> {
  let seen = 0;
  for await (const d of stream.deliveries) {
    await bus.nack(d.consumer, d.id, `boom ${++seen}`, false);
    if (seen === n) break;
  }
  stream.close();
}

async function audit(): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(join(home, 'audit', 'broker.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-bus-ops-'));
  home = join(dir, 'home');
  await cp(join(REPO, 'policies'), join(dir, 'policies'), { recursive: true });
  await writeFile(join(dir, 'policies', 'test-grants.cedar'), GRANTS);
  await writeFile(join(dir, 'flotilla.yaml'), FLEET);
  // Embedded defaults (PGlite in <home>): a shared database would hold other tests' queues.
  const saved = Object.fromEntries(TEST_ENV.map((k) => [k, process.env[k]]));
  for (const k of TEST_ENV) delete process.env[k];
  try {
    const policies = join(dir, 'policies');
    control = await startControl({
      env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent', PORT: '0', FLOTILLA_POLICY_DIR: policies },
    });
    const joined = fleetJoiner(control, { home, policies });
    broker = await startBroker({ env: await joined('broker') });
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
  }
  await writeState(home, {
    name: 'busops',
    startedAt: new Date().toISOString(),
    supervisorPid: process.pid,
    gateway: '',
    issuer: '',
    control: control.url,
    trustDomain: 'flotilla.local',
    processes: [{ name: 'broker', service: 'broker', url: broker.url, pid: process.pid }],
  });
  const app = await workload('app');
  const worker = await workload('worker');
  const echo = await workload('echo');
  for (let n = 1; n <= 2; n++) await app.send('jobs', { type: 'job', attempt: 1, body: { n } });
  await poison(worker, await worker.consume('jobs', 5), 2);
  await echo.subscribe('uploads');
  await app.publish('uploads', { type: 'uploaded', attempt: 1, body: {} });
  await poison(echo, await echo.subscribed('uploads', 5), 1);
  await app.send('jobs', { type: 'job', attempt: 1, body: { n: 3 } }); // waits: no consumer now
}, 120_000);

afterAll(async () => {
  for (const s of services) await s.stop();
  await broker?.stop();
  await control?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('flotilla bus on a running fleet', { timeout: 120_000 }, () => {
  it('adds DEPTH and DEAD to the queues and topics', async () => {
    const queues = await flotilla(['bus', 'queues']);
    expect(queues.code).toBe(0);
    expect(queues.out.split('\n').map((l) => l.split(/\s{3,}/))).toEqual([
      ['QUEUE', 'SENDERS', 'CONSUMERS', 'DEPTH', 'DEAD'],
      ['jobs', 'echo', 'echo', '1', '2'],
      [''],
    ]);
    expect(await broker!.service.ctx.metrics.metrics()).toMatch(/^bus_dead_letters\{queue="jobs"[^}]*\} 2$/m);
    const topics = await flotilla(['bus', 'topics', '-o', 'json']);
    expect(JSON.parse(topics.out)).toEqual([
      { name: 'uploads', publish: ['echo'], subscribe: ['echo'], depth: 0, inFlight: 0, dead: 1 },
    ]);
  });

  it('lists dead letters of a queue, of a subscription, and of all', async () => {
    const jobs = await flotilla(['bus', 'dead-letters', 'jobs', '-o', 'json']);
    expect(jobs.code).toBe(0);
    const list = (JSON.parse(jobs.out) as { deadLetters: Array<Record<string, unknown>> }).deadLetters;
    expect(list.map((d) => d.reason)).toEqual(['boom 1', 'boom 2']);
    expect(list[0]).toMatchObject({
      source: { queue: 'jobs' },
      type: 'job',
      sender: 'spiffe://flotilla.local/svc/app',
      attempts: 1,
    });
    const sub = await flotilla(['bus', 'dead-letters', '--topic', 'uploads', '--group', 'echo']);
    expect(sub.out).toMatch(
      /^ID\s+SOURCE\s+TYPE\s+SENDER\s+ATTEMPTS\s+TIME\s+REASON\n\d+\s+uploads \(echo\)\s+uploaded\s+app\s+1\s+\S+\s+boom 1\n$/,
    );
    const all = await flotilla(['bus', 'dead-letters']);
    expect(all.out.trim().split('\n')).toHaveLength(4);
  });

  it('replays one dead letter by id, then all of a source, as the operator (audited)', async () => {
    const before = JSON.parse((await flotilla(['bus', 'dead-letters', 'jobs', '-o', 'json'])).out) as {
      deadLetters: Array<{ id: string }>;
    };
    const id = before.deadLetters[0]!.id;
    expect(await flotilla(['bus', 'replay', id])).toMatchObject({ code: 0, out: `replayed ${id} to jobs\n` });
    expect(await flotilla(['bus', 'replay', '--all', 'jobs'])).toMatchObject({
      code: 0,
      out: 'replayed 1 dead letter to jobs\n',
    });
    expect((await flotilla(['bus', 'replay', '--all', '--topic', 'uploads', '--group', 'echo'])).out).toBe(
      'replayed 1 dead letter to uploads (echo)\n',
    );
    expect((await flotilla(['bus', 'queues'])).out).toMatch(/\njobs\s+echo\s+echo\s+3\s+0\n/);
    const metrics = await broker!.service.ctx.metrics.metrics();
    expect(metrics).toMatch(/^bus_dead_letters\{queue="jobs"[^}]*\} 0$/m);
    expect(metrics).toMatch(/^bus_messages_total\{queue="jobs",service="operator",event="replayed"\} 2$/m);
    expect(metrics).toMatch(
      /^bus_messages_total\{queue="topic:uploads:echo",service="operator",event="replayed"\} 1$/m,
    );
    const replays = (await audit()).filter((r) => r.action === 'bus.replay');
    expect(replays.map((r) => [r.actor, r.target])).toEqual([
      ['spiffe://flotilla.local/svc/operator', 'jobs'],
      ['spiffe://flotilla.local/svc/operator', 'jobs'],
      ['spiffe://flotilla.local/svc/operator', 'topic:uploads:echo'],
    ]);
  });

  it('says so in one line for an unknown id or a bad command line, and changes nothing', async () => {
    const unknown = await flotilla(['bus', 'replay', '99999999']);
    expect(unknown.code).toBe(1);
    expect(unknown.err.trim().split('\n')).toHaveLength(1);
    expect(unknown.err).toContain('no dead letter 99999999');
    const half = await flotilla(['bus', 'dead-letters', '--topic', 'uploads']);
    expect(half.code).toBe(2);
    expect(half.err).toContain('--group');
    expect((await flotilla(['bus', 'replay'])).code).toBe(2);
  });
});

describe('flotilla bus without a running fleet', { timeout: 120_000 }, () => {
  it('lists the declarations alone, and refuses dead-letters and replay in one line', async () => {
    const empty = join(dir, 'no-fleet');
    const queues = await flotilla(['bus', 'queues'], empty);
    expect(queues.code).toBe(0);
    expect(queues.out.split('\n')[0]).toMatch(/^QUEUE\s+SENDERS\s+CONSUMERS$/);
    for (const args of [
      ['bus', 'dead-letters'],
      ['bus', 'replay', '1'],
    ]) {
      const refused = await flotilla(args, empty);
      expect(refused.code).toBe(1);
      expect(refused.err.trim()).toMatch(/^flotilla: .*the fleet is not running: start it \("flotilla up"\)/);
    }
  });
});

// The same commands when the fleet runs on RabbitMQ (BUS_URL): the CLI reads and replays
// through amqplib (AmqpAdmin), on queues of this run only.
describe.skipIf(!process.env.BUS_URL)('flotilla bus on RabbitMQ (BUS_URL)', { timeout: 120_000 }, () => {
  const run = randomUUID().slice(0, 8);
  const queue = `cli-${run}`;
  const identity = 'spiffe://flotilla.local/svc/app';
  const sent: Envelope[] = [1, 2].map((n) => ({
    id: randomUUID(),
    type: 'job',
    time: new Date().toISOString(),
    sender: identity,
    attempt: 2,
    body: { n },
  }));
  let transport: AmqpTransport;
  let rabbitHome: string;

  beforeAll(async () => {
    rabbitHome = join(dir, 'rabbit-home');
    await writeFile(join(dir, 'rabbit.yaml'), FLEET.replaceAll('[jobs]', `[${queue}]`));
    await writeState(rabbitHome, {
      name: 'busops',
      startedAt: new Date().toISOString(),
      supervisorPid: process.pid,
      gateway: '',
      issuer: '',
      control: 'https://127.0.0.1:1',
      processes: [],
    });
    transport = await AmqpTransport.open({ url: process.env.BUS_URL!, identity });
    await transport.declareQueue(queue);
    for (const e of sent) await transport.send(queue, e);
    let seen = 0;
    const poisoned = await transport.consume(
      { queue },
      async (d) => {
        seen++;
        await d.deadLetter(`boom ${seen}`);
      },
      { prefetch: 5 },
    );
    const admin = await AmqpAdmin.open(process.env.BUS_URL!);
    for (let i = 0; i < 400 && (await admin.stats({ queue }))?.dead !== 2; i++)
      await new Promise((r) => setTimeout(r, 25));
    await admin.close();
    await poisoned.cancel();
  });

  afterAll(async () => {
    await transport?.close();
    // This run's quorum queues are not free to keep; rabbitmqctl, when the machine has it.
    for (const q of [`flotilla.q.${queue}`, `flotilla.q.${queue}.dead`])
      await promisify(execFile)('rabbitmqctl', ['-q', 'delete_queue', q], { timeout: 30_000 }).catch(
        () => undefined,
      );
  });

  const cli = (args: string[]) => flotilla(args, rabbitHome, 'rabbit.yaml');

  it('shows depth and dead letters, and replays by message id and --all', async () => {
    expect((await cli(['bus', 'queues'])).out).toMatch(
      new RegExp(`\\n${queue}\\s+echo\\s+echo\\s+0\\s+2\\n`),
    );
    const listed = JSON.parse((await cli(['bus', 'dead-letters', queue, '-o', 'json'])).out) as {
      deadLetters: Array<{ id: string; reason: string; sender: string; attempts: number }>;
    };
    expect(listed.deadLetters).toEqual([
      expect.objectContaining({ id: sent[0]!.id, reason: 'boom 1', sender: identity, attempts: 2 }),
      expect.objectContaining({ id: sent[1]!.id, reason: 'boom 2' }),
    ]);
    expect(await cli(['bus', 'replay', sent[1]!.id])).toMatchObject({
      code: 0,
      out: `replayed ${sent[1]!.id} to ${queue}\n`,
    });
    const unknown = await cli(['bus', 'replay', randomUUID()]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/^flotilla: no dead letter \S+ in the fleet's queues\n$/);
    expect((await cli(['bus', 'replay', '--all', queue])).out).toBe(`replayed 1 dead letter to ${queue}\n`);
    expect((await cli(['bus', 'queues'])).out).toMatch(
      new RegExp(`\\n${queue}\\s+echo\\s+echo\\s+2\\s+0\\n`),
    );
  });
});
