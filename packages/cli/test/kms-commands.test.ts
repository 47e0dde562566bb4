// `flotilla kms …` against a running fleet (flotilla up starts the KMS with its root key
// and the fleet's keys): the CLI acts as the `operator` workload over mTLS, which the
// policies let administer keys but never decrypt; and `flotilla policy lint` on key grants.
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningFleet, runFleet } from '../src/up/fleet-runner.js';

const REPO = join(import.meta.dirname, '..', '..', '..');
const BIN = join(REPO, 'packages', 'cli', 'bin', 'flotilla.js');

const FLEET = `version: 1
name: keys
control: { port: 0 }
auth: { port: 0, audience: https://localhost/api, clients: [] }
roles: [viewer]
gateway: { port: 0, httpPort: 0, routes: [{ method: GET, path: /api/echo, service: echo, upstreamPath: /, auth: public }] }
keys:
  - { name: reports, description: monthly reports, rotationDays: 30 }
services:
  - { name: echo, entry: ${join(REPO, 'packages', 'testing', 'src', 'echo-main.ts')}, keys: [reports] }
`;

let dir: string;
let home: string;
let fleet: RunningFleet | undefined;

function flotilla(args: string[], cwd = dir): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, ...(args[0] === 'kms' ? ['--home', home] : [])], {
      cwd,
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

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-kms-cli-'));
  home = join(dir, 'home');
  await cp(join(REPO, 'policies'), join(dir, 'policies'), { recursive: true });
  await writeFile(join(dir, 'flotilla.yaml'), FLEET);
  const saved = { DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: process.env.REDIS_URL };
  delete process.env.DATABASE_URL;
  delete process.env.REDIS_URL;
  try {
    fleet = await runFleet({ file: join(dir, 'flotilla.yaml'), home, onEvent: () => undefined });
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
  }
}, 120_000);
afterAll(async () => {
  await fleet?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('flotilla up and the KMS', () => {
  it('creates the root key file 0600 and starts kms with the fleet keys and storage', async () => {
    expect((await stat(join(home, 'secrets', 'kms-root-key'))).mode & 0o777).toBe(0o600);
    expect(fleet?.state.processes.map((p) => p.service)).toContain('kms');
    const status = await flotilla(['status', '-o', 'json', '--home', home]);
    const services = (JSON.parse(status.out) as { services: Array<{ name: string; ready?: boolean }> })
      .services;
    expect(services.find((s) => s.name === 'kms')).toBeDefined();
    const listed = await flotilla(['kms', 'keys', '-o', 'json']);
    expect(listed.code).toBe(0);
    const keys = (JSON.parse(listed.out) as { keys: Array<{ name: string; rotationDays: number | null }> })
      .keys;
    expect(keys.map((k) => [k.name, k.rotationDays])).toEqual([
      ['reports', 30],
      ['storage', 90],
    ]);
  });
});

describe('flotilla kms', () => {
  it('creates, rotates, disables, enables, schedules and cancels deletion, as the operator', async () => {
    const created = await flotilla([
      'kms',
      'create',
      'invoices',
      '--rotation-days',
      '90',
      '--description',
      'billing',
    ]);
    expect(created).toMatchObject({
      code: 0,
      out: expect.stringContaining('created invoices: enabled, version 1'),
    });
    expect((await flotilla(['kms', 'rotate', 'invoices'])).out).toContain('version 2');
    expect((await flotilla(['kms', 'disable', 'invoices'])).out).toContain('disabled invoices: disabled');
    expect((await flotilla(['kms', 'enable', 'invoices'])).out).toContain('enabled invoices: enabled');
    const scheduled = await flotilla(['kms', 'schedule-deletion', 'invoices', '--days', '7', '-o', 'json']);
    expect(JSON.parse(scheduled.out)).toMatchObject({ name: 'invoices', state: 'pending-deletion' });
    expect((await flotilla(['kms', 'cancel-deletion', 'invoices'])).out).toContain('invoices: disabled');
    const table = await flotilla(['kms', 'keys']);
    expect(table.out).toMatch(/^NAME\s+STATE\s+VERSION/);
    expect(table.out).toMatch(/invoices\s+disabled\s+2\s+1\s+90d/);
  });

  it('prints who used a key for what', async () => {
    const usage = await flotilla(['kms', 'usage', 'invoices', '--limit', '3', '-o', 'json']);
    expect(usage.code).toBe(0);
    const records = (JSON.parse(usage.out) as { records: Array<{ operation: string; caller: string }> })
      .records;
    expect(records.map((r) => r.operation)).toEqual([
      'CancelKeyDeletion',
      'ScheduleKeyDeletion',
      'EnableKey',
    ]);
    expect(records[0]?.caller).toBe('spiffe://flotilla.local/svc/operator');
    expect((await flotilla(['kms', 'usage', 'invoices'])).out).toMatch(/^TIME\s+CALLER\s+OPERATION/);
  });

  it('says what is wrong: bad input, a refusal by the KMS', async () => {
    const bad = await flotilla(['kms', 'schedule-deletion', 'invoices', '--days', '3']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/FLT_VALIDATION|days/);
    const missing = await flotilla(['kms', 'rotate', 'nope']);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain('no key nope');
    const usage = await flotilla(['kms', 'schedule-deletion', 'invoices']);
    expect(usage.code).toBe(2);
  });
});

describe('flotilla policy lint', () => {
  it('warns about a key grant to a service that does not declare the key', async () => {
    await writeFile(
      join(dir, 'policies', 'grants.cedar'),
      `@id("echo-reports")\npermit (principal == Service::"echo", action == Action::"kms:Decrypt", resource == Key::"reports");\n` +
        `@id("echo-invoices")\npermit (principal == Service::"echo", action == Action::"kms:Decrypt", resource == Key::"invoices");\n`,
    );
    const lint = await flotilla(['policy', 'lint']);
    expect(lint.out).toContain(
      'grants.cedar:3: warning [undeclared-key] echo-invoices: grants Service::"echo" Key::"invoices", but echo does not list invoices under keys: in the fleet file',
    );
    expect(lint.out).not.toContain('echo-reports');
    // iam.cedar's grant to storage: storage counts as declaring `storage`, and the keys of
    // its buckets (`buckets[].key`); this fleet has no bucket under FlixTube's `videos`.
    expect(lint.out).not.toContain('iam-storage-kms:');
    expect(lint.out).toContain(
      'iam-storage-kms-videos: grants Service::"storage" Key::"videos", but storage is not a service of the fleet file',
    );
    // Nor video-streaming, which seals its stream-token key under `stream-tokens`.
    expect(lint.out).toContain(
      'iam-video-streaming-stream-key: grants Service::"video-streaming" Key::"stream-tokens", but video-streaming is not a service of the fleet file',
    );
    expect(lint.out).toContain('3 warnings');
  });
});
