import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { main } from '@flotilla/cli';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FLEET_DIR, tempPolicyDir } from './fixtures.js';

// `flotilla policy ...` through the CLI's public entry, capturing what a user would see.
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
  const code = await main(['policy', ...argv]);
  vi.restoreAllMocks();
  return { code, out: out.join('\n'), err: err.join('') };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
async function dirWith(files: Record<string, string>): Promise<string> {
  const { dir, cleanup } = await tempPolicyDir(files);
  cleanups.push(cleanup);
  return dir;
}

describe('flotilla policy', () => {
  it('validate: 0 for the fleet, 1 with one file:line line per error', async () => {
    const ok = await cli('validate', '--dir', FLEET_DIR);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^ok: \d+ policies in \d+ files/);

    const dir = await dirWith({
      'a.cedar': '\npermit(principal, action == Action::"nope", resource);',
      'b.cedar':
        'permit(principal is User, action == Action::"video:Read", resource)\n  when { principal.x };',
    });
    const bad = await cli('validate', '--dir', dir);
    expect(bad.code).toBe(1);
    const lines = bad.err.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^flotilla: ${join(dir, 'a.cedar')}:2: .*unrecognized action`));
    expect(lines[1]).toMatch(new RegExp(`^flotilla: ${join(dir, 'b.cedar')}:2: .*attribute \`x\``));
  });

  it('test: runs the fleet cases, and fails with a named case on a wrong expectation', async () => {
    const fleet = await cli('test', '--dir', FLEET_DIR);
    expect(fleet.code).toBe(0);
    expect(fleet.out).toMatch(/PASS {2}an admin without MFA may not delete/);
    expect(fleet.out).toMatch(/\n\d+ passed, 0 failed \(\d+ files\)$/);

    const dir = await dirWith({
      'app.cedar': 'permit(principal is User, action == Action::"video:Read", resource);',
    });
    const cases = join(dir, 'cases.yaml');
    await writeFile(
      cases,
      [
        'entities:',
        '  - { uid: User::"bob", attrs: { roles: [], mfa: true } }',
        '  - { uid: Video::"v1", attrs: { owner: { __entity: { type: User, id: bob } } } }',
        'cases:',
        '  - { name: reads, principal: User::"bob", action: video:Read, resource: Video::"v1", expect: allow }',
        '  - { name: deletes, principal: User::"bob", action: video:Delete, resource: Video::"v1", expect: allow }',
      ].join('\n'),
    );
    const run = await cli('test', '--dir', dir, cases);
    expect(run.code).toBe(1);
    expect(run.out).toContain('PASS  reads');
    expect(run.out).toContain('FAIL  deletes: expected allow, got deny');
    expect(run.out).toContain('1 passed, 1 failed (1 files)');

    await writeFile(cases, '- { principal: User::"bob", action: video:Read, expect: allow }');
    const malformed = await cli('test', '--dir', dir, cases);
    expect(malformed.code).toBe(1);
    expect(malformed.err).toMatch(/case 1: missing resource/);
  });

  it('lint: warns with exit 0, exits 1 under --strict', async () => {
    const dir = await dirWith({ 'open.cedar': '// oops\npermit(principal, action, resource);' });
    const lax = await cli('lint', '--dir', dir);
    expect(lax.code).toBe(0);
    expect(lax.out).toContain(`${join(dir, 'open.cedar')}:2: warning [permit-all] open.cedar#0`);
    expect((await cli('lint', '--dir', dir, '--strict')).code).toBe(1);
    expect(await cli('lint', '--dir', FLEET_DIR, '--strict')).toMatchObject({ code: 0, out: '0 warnings' });
  });

  it('why: prints the decision, the deciding policies with their location, and errors', async () => {
    const dir = await dirWith({});
    const request = join(dir, 'request.json');
    await writeFile(
      request,
      JSON.stringify({
        principal: 'User::"dave"',
        action: 'video:Delete',
        resource: 'Video::"v1"',
        entities: [
          { uid: 'User::"dave"', attrs: { roles: ['admin'], mfa: false }, parents: ['Role::"admin"'] },
          { uid: 'Video::"v1"', attrs: { owner: { __entity: { type: 'User', id: 'alice' } } } },
        ],
      }),
    );
    const why = await cli('why', request, '--dir', FLEET_DIR);
    expect(why.code).toBe(0);
    expect(why.out).toMatch(
      /^decision: deny\npolicy: {3}flixtube-delete-others-needs-mfa \(forbid at .*flixtube\.cedar:\d+\)$/,
    );

    await writeFile(
      request,
      JSON.stringify({ principal: 'User::"x"', action: 'video:Nope', resource: 'Video::"v1"' }),
    );
    const err = await cli('why', request, '--dir', FLEET_DIR);
    expect(err.out).toMatch(/decision: deny\npolicies: none\nerror: {4}.*unknown entity User::"x"/);
    expect((await cli('why')).code).toBe(2);
    expect((await cli('frobnicate')).code).toBe(2);
  });
});
