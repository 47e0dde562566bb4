// `flotilla users` and `flotilla auth` against a running fleet: the CLI acts as the
// `operator` workload over the auth service's admin API (mTLS, Cedar, audited), never
// opening auth's database.
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningFleet, runFleet } from '../src/up/fleet-runner.js';

const REPO = join(import.meta.dirname, '..', '..', '..');
const BIN = join(REPO, 'packages', 'cli', 'bin', 'flotilla.js');

const FLEET = `version: 1
name: operators
control: { port: 0 }
auth: { port: 0, audience: https://localhost/api, clients: [] }
roles: [viewer, admin]
demoUsers:
  - { name: alice, roles: [viewer] }
gateway: { port: 0, httpPort: 0, routes: [{ method: GET, path: /api/echo, service: echo, upstreamPath: /, auth: public }] }
services:
  - { name: echo, entry: ${join(REPO, 'packages', 'testing', 'src', 'echo-main.ts')} }
`;

let dir: string;
let home: string;
let fleet: RunningFleet | undefined;

/** One CLI process, as an operator types it, with what it printed. */
function flotilla(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, '--home', home], {
      env: { ...process.env, FLOTILLA_CLI_TSX: '1', NO_COLOR: '1' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, out, err }));
    child.stdin.end(stdin);
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-operator-'));
  home = join(dir, 'home');
  await cp(join(REPO, 'policies'), join(dir, 'policies'), { recursive: true });
  await writeFile(join(dir, 'flotilla.yaml'), FLEET);
  // Embedded defaults: a shared DATABASE_URL would hold another test's auth database.
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

describe('the operator commands over the auth service admin API', () => {
  it('lists, adds, disables and enables users', async () => {
    const before = await flotilla(['users', 'list', '-o', 'json']);
    expect(before.code).toBe(0);
    expect(JSON.parse(before.out)).toEqual({
      users: [{ username: 'alice', roles: ['viewer'], disabled: false, mfa: false }],
    });

    const added = await flotilla(
      ['users', 'add', 'carol', '--role', 'admin', '--password-stdin'],
      'carol-password-0123',
    );
    expect(added).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^added carol \(.+\) roles=admin\n$/),
    });
    expect((await flotilla(['users', 'disable', 'carol'])).out).toBe('disabled carol\n');
    const listed = await flotilla(['users', 'list']);
    expect(listed.out).toMatch(/carol\s+admin\s+disabled/);
    expect((await flotilla(['users', 'enable', 'carol'])).out).toBe('enabled carol\n');
  });

  it('refuses what the auth service refuses, with its reason and exit 1', async () => {
    const unknown = await flotilla(['users', 'disable', 'nobody']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('no user "nobody"');
    const short = await flotilla(['users', 'add', 'dave', '--role', 'viewer', '--password-stdin'], 'short');
    expect(short.code).toBe(1);
    expect(short.err).toMatch(/password/);
  });

  it('lists and rotates the signing keys', async () => {
    const keys = JSON.parse((await flotilla(['auth', 'keys', '-o', 'json'])).out) as {
      keys: { kid: string; state: string }[];
    };
    const next = keys.keys.find((k) => k.state === 'next')!.kid;
    const rotated = await flotilla(['auth', 'rotate-keys']);
    expect(rotated.code).toBe(0);
    expect(rotated.out).toContain(`active ${next}`);
  });

  it('acts as the operator identity, and the auth service audits it so', async () => {
    const audit = await readFile(join(home, 'audit', 'auth.jsonl'), 'utf8');
    const records = audit
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { actor: string; action: string; outcome: string });
    const byOperator = records.filter((r) => r.actor === 'spiffe://flotilla.local/svc/operator');
    expect(byOperator.map((r) => r.action)).toEqual(
      expect.arrayContaining(['admin.user.list', 'user.create', 'user.disable', 'keys.rotate']),
    );
    expect(audit).not.toContain('carol-password-0123');
  });
});
