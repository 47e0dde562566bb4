// `flotilla storage` against a running fleet: the CLI acts as the `operator` workload over
// the storage service's API (mTLS; the bucket policies decide; audited).
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningService } from '@flotilla/kit';
import { createStorage } from '@flotilla/storage';
import { joinToken } from '@flotilla/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningFleet, runFleet } from '../src/up/fleet-runner.js';

const REPO = join(import.meta.dirname, '..', '..', '..');
const BIN = join(REPO, 'packages', 'cli', 'bin', 'flotilla.js');

const FLEET = `version: 1
name: storage-ops
control: { port: 0 }
auth: { port: 0, audience: https://localhost/api, clients: [] }
roles: [viewer]
gateway: { port: 0, httpPort: 0, routes: [{ method: GET, path: /api/echo, service: echo, upstreamPath: /, auth: public }] }
services:
  - { name: echo, entry: ${join(REPO, 'packages', 'testing', 'src', 'echo-main.ts')} }
`;

let dir: string;
let home: string;
let fleet: RunningFleet | undefined;
let storage: RunningService | undefined;

function flotilla(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, '--home', home], {
      env: { ...process.env, FLOTILLA_CLI_TSX: '1', NO_COLOR: '1', FLOTILLA_STORAGE_URL: storage?.url ?? '' },
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
  dir = await mkdtemp(join(tmpdir(), 'flotilla-storage-cli-'));
  home = join(dir, 'home');
  await cp(join(REPO, 'policies'), join(dir, 'policies'), { recursive: true });
  await writeFile(join(dir, 'flotilla.yaml'), FLEET);
  await writeFile(
    join(dir, 'media.cedar'),
    'permit (principal == Service::"echo", action == Action::"storage:GetObject", resource in Bucket::"media");\n',
  );
  await writeFile(
    join(dir, 'buckets.json'),
    JSON.stringify([{ name: 'media', policy: 'media.cedar' }, { name: 'logs' }]),
  );
  const saved = { DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: process.env.REDIS_URL };
  delete process.env.DATABASE_URL;
  delete process.env.REDIS_URL;
  try {
    fleet = await runFleet({ file: join(dir, 'flotilla.yaml'), home, onEvent: () => undefined });
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
  }
  const control = fleet.control;
  const storageHome = join(dir, 'storage-home');
  await mkdir(storageHome);
  storage = await createStorage().start({
    inMemoryDb: true,
    env: {
      LOG_LEVEL: 'silent',
      FLOTILLA_HOME: storageHome,
      FLOTILLA_CONTROL_URL: control.url,
      FLOTILLA_CA_BUNDLE_FILE: join(home, 'ca.pem'),
      FLOTILLA_POLICY_DIR: join(dir, 'policies'),
      FLOTILLA_JOIN_TOKEN: await joinToken(
        {
          url: control.url,
          adminToken: control.adminToken,
          roots: await readFile(join(home, 'ca.pem'), 'utf8'),
        },
        'storage',
      ),
      STORAGE_BUCKETS_FILE: join(dir, 'buckets.json'),
      STORAGE_LOCAL_KEY_FILE: join(storageHome, 'storage.key'),
    },
  });
}, 120_000);

afterAll(async () => {
  await storage?.stop();
  await fleet?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('flotilla storage, as the operator', () => {
  it('lists the buckets, one a line', async () => {
    expect(await flotilla(['storage', 'ls'])).toMatchObject({ code: 0, out: 'media\nlogs\n' });
  });

  // Nine CLI runs, each compiling the CLI with tsx (~3 s on a busy 2-core host): a bound, not a speed test.
  it(
    'puts a file and from standard input, lists, gets to a file and to stdout, removes',
    { timeout: 120_000 },
    async () => {
      const file = join(dir, 'hello.txt');
      await writeFile(file, 'hello from a file');
      const put = await flotilla([
        'storage',
        'put',
        'media/docs/hello.txt',
        file,
        '--content-type',
        'text/plain',
      ]);
      expect(put).toMatchObject({
        code: 0,
        out: expect.stringMatching(/^media\/docs\/hello\.txt 17 bytes etag "[0-9a-f]{64}"\n$/),
      });
      expect((await flotilla(['storage', 'put', 'media/docs/stdin.txt', '-'], 'from stdin')).code).toBe(0);

      const top = await flotilla(['storage', 'ls', 'media']);
      expect(top.out).toMatch(/PRE\s+docs\/\n/);
      const docs = await flotilla(['storage', 'ls', 'media/docs/']);
      expect(docs.out).toMatch(/17 .* docs\/hello\.txt\n/);
      expect(docs.out).toMatch(/10 .* docs\/stdin\.txt\n/);

      expect(await flotilla(['storage', 'get', 'media/docs/stdin.txt'])).toMatchObject({
        code: 0,
        out: 'from stdin',
      });
      const copy = join(dir, 'copy.txt');
      expect((await flotilla(['storage', 'get', 'media/docs/hello.txt', copy])).code).toBe(0);
      expect(await readFile(copy, 'utf8')).toBe('hello from a file');

      expect(await flotilla(['storage', 'rm', 'media/docs/stdin.txt'])).toMatchObject({
        code: 0,
        out: 'removed media/docs/stdin.txt\n',
      });
      const gone = await flotilla(['storage', 'get', 'media/docs/stdin.txt']);
      expect(gone.code).toBe(1);
      expect(gone.err).toContain('does not exist');
    },
  );

  it("prints a bucket's effective policy", async () => {
    const res = await flotilla(['storage', 'policy', 'media']);
    expect(res.code).toBe(0);
    expect(res.out).toContain('Bucket::"media"');
    expect(res.out).toContain('svc-operator-storage-admin');
  });

  it('refuses a target without a key', async () => {
    const res = await flotilla(['storage', 'get', 'media']);
    expect(res.code).not.toBe(0);
    expect(res.err).toContain('expected <bucket>/<key>');
  });

  it('is audited as the operator', async () => {
    const audit = await readFile(join(dir, 'storage-home', 'audit', 'storage.jsonl'), 'utf8');
    expect(audit).toContain('"actor":"spiffe://flotilla.local/svc/operator"');
    expect(audit).toContain('"action":"storage.put"');
  });
});
