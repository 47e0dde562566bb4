import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseCommandArgs } from '../src/cli/parse.js';
import { reset as resetCommand } from '../src/commands/reset.js';
import { COMMANDS } from '../src/commands/table.js';
import { dropSchemas, fleetSchemas } from '../src/up/reset.js';

const fleetYaml = `version: 1
name: demo
auth: { audience: demo-api, clients: [] }
roles: [viewer]
gateway: { routes: [] }
services:
  - { name: metadata, entry: m.ts, database: true }
  - { name: history, entry: h.ts }
`;

/** `flotilla reset …` through the CLI's own parser, its errors thrown (as main would print them). */
const run = (argv: string[]) =>
  resetCommand(
    parseCommandArgs(
      COMMANDS.find((c) => c.name === 'reset')!,
      'flotilla reset',
      argv,
    ),
  );

describe('flotilla reset', () => {
  let dir: string;
  let home: string;
  let saved: string | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-reset-'));
    home = join(dir, '.flotilla');
    for (const sub of ['data/metadata', 'secrets', 'logs']) await mkdir(join(home, sub), { recursive: true });
    await writeFile(join(home, 'secrets', 'users.json'), '{}');
    await writeFile(join(home, 'ca.pem'), 'x');
    await writeFile(join(dir, 'flotilla.yaml'), fleetYaml);
    saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    if (saved !== undefined) process.env.DATABASE_URL = saved;
    await rm(dir, { recursive: true, force: true });
  });
  const reset = (...args: string[]) => run(['--home', home, '--file', join(dir, 'flotilla.yaml'), ...args]);

  it('without --yes deletes nothing and says how to confirm', async () => {
    expect(await reset()).toBe(2);
    expect((await readdir(home)).sort()).toEqual(['ca.pem', 'data', 'logs', 'secrets']);
  });

  it('with --yes deletes the home (data, secrets, CA) and nothing beside it', async () => {
    expect(await reset('--yes')).toBe(0);
    expect(await readdir(dir)).toEqual(['flotilla.yaml']);
    expect(await reset('--yes')).toBe(0); // already gone: nothing to do, no error
  });

  it('refuses while the fleet is running from that home', async () => {
    await writeFile(join(home, 'fleet.json'), JSON.stringify({ name: 'demo', supervisorPid: process.pid }));
    await expect(reset('--yes')).rejects.toThrow(`the fleet "demo" is running from ${home}`);
    expect(await readdir(home)).toContain('data');
  });

  it('refuses a folder that is not a Flotilla home', async () => {
    await expect(run(['--home', dir, '--file', join(dir, 'flotilla.yaml'), '--yes'])).rejects.toThrow(
      'holds flotilla.yaml: it is a project, not a Flotilla home',
    );
    const other = join(dir, 'photos');
    await mkdir(other);
    await writeFile(join(other, 'cat.jpg'), '');
    await expect(run(['--home', other, '--file', join(dir, 'flotilla.yaml'), '--yes'])).rejects.toThrow(
      'does not look like a Flotilla home',
    );
    expect(await readdir(other)).toEqual(['cat.jpg']);
  });
});

describe('flotilla reset with DATABASE_URL: the fleet schemas', () => {
  it('are control, auth and one per service, as the kit names them', () => {
    expect(
      fleetSchemas({
        services: [
          { name: 'metadata', entry: 'm.ts' },
          { name: 'history', entry: 'h.ts' },
        ],
      }),
    ).toEqual(['control', 'auth', 'kms', 'storage', 'broker', 'metadata', 'history']);
  });

  it('are dropped with their tables where they exist; other schemas stay', async () => {
    // PGlite speaks the same SQL as the PostgreSQL that DATABASE_URL points at.
    const db = await PGlite.create();
    try {
      await db.exec(`CREATE SCHEMA control; CREATE TABLE control.ca (id int);
        CREATE TABLE control.flotilla_migrations (id text);
        CREATE SCHEMA "metadata"; CREATE TABLE metadata.videos (id int);
        CREATE TABLE metadata.flotilla_migrations (id text);
        CREATE SCHEMA other; CREATE TABLE other.keep (id int);
        CREATE SCHEMA history; CREATE TABLE history.not_ours (id int);`);
      const dropped = await dropSchemas(db, ['control', 'auth', 'metadata', 'history']);
      expect(dropped).toEqual(['control', 'metadata']);
      const { rows } = await db.query<{ nspname: string }>(
        "SELECT nspname FROM pg_namespace WHERE nspname IN ('control', 'auth', 'metadata', 'history', 'other') ORDER BY nspname",
      );
      // A same-named schema the kit never migrated belongs to someone else: it stays.
      expect(rows.map((r) => r.nspname)).toEqual(['history', 'other']);
    } finally {
      await db.close();
    }
  }, 60_000);
});
