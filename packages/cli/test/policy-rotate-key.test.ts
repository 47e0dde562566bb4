import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningControl, startControl } from '@flotilla/control';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/index.js';

const POLICY_DIR = join(import.meta.dirname, '..', '..', '..', 'policies');

/** `flotilla policy …` through the CLI's entry, against a running control plane in `home`. */
async function cli(
  env: Record<string, string>,
  ...argv: string[]
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return { code: await main(['policy', ...argv]), out: out.join('\n'), err: err.join('') };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    vi.restoreAllMocks();
  }
}

describe('flotilla policy rotate-key', () => {
  let home: string;
  let control: RunningControl;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'flotilla-rotate-key-'));
    control = await startControl({
      env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent', FLOTILLA_POLICY_DIR: POLICY_DIR },
      inMemoryDb: true,
    });
  }, 30_000);
  afterAll(async () => {
    await control?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('rotates at the control plane found in FLOTILLA_HOME and says what is published', async () => {
    const env = { FLOTILLA_HOME: home, FLOTILLA_CONTROL_URL: control.url };
    const first = await cli(env, 'rotate-key');
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(
      /^rotated the policy signing key: (policy-\S+) signs bundle version 2; published: \1, policy-\S+; retired: none$/,
    );
  });

  it('fails with one readable line without the admin token, and changes nothing', async () => {
    const env = { FLOTILLA_HOME: home, FLOTILLA_CONTROL_URL: control.url, FLOTILLA_ADMIN_TOKEN: 'not-it' };
    const refused = await cli(env, 'rotate-key');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/control plane refused POST \/v1\/policy\/keys\/rotate: 401/);
    expect(refused.err.trim().split('\n')).toHaveLength(1);
    const { rows } = await control.service.ctx.db.query('SELECT kid FROM policy_signing_keys');
    expect(rows).toHaveLength(2);
  });
});
