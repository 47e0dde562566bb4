import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { openDb } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { seedFromTemplate } from '../src/db/pglite-template.js';
import { tempHome } from './helpers.js';

/** Every entry under `dir` with its permission bits. */
async function modes(dir: string): Promise<Array<{ path: string; mode: number; isDir: boolean }>> {
  const out: Array<{ path: string; mode: number; isDir: boolean }> = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(e.parentPath, e.name);
    out.push({ path, mode: (await stat(path)).mode & 0o777, isDir: e.isDirectory() });
  }
  return out;
}

describe('PGlite data directories come from one initialized template (issue 8)', () => {
  let cache: Awaited<ReturnType<typeof tempHome>>;
  let saved: string | undefined;
  beforeAll(async () => {
    cache = await tempHome();
    saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = cache.dir;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
    await cache.remove();
  });

  it('two services in two fresh homes: one template, each database its own, owner-only files', async () => {
    const homes = [await tempHome(), await tempHome()];
    try {
      const first = await openDb({ service: 'one', home: homes[0]!.dir });
      await first.exec('CREATE TABLE only_in_one (id int)');
      await first.close();
      const templates = (await readdir(join(cache.dir, 'flotilla'))).filter((n) => !n.endsWith('.tar'));
      expect(templates).toHaveLength(1);
      expect(templates[0]).toMatch(/^pglite-\d+\.\d+\.\d+$/);
      const templateDir = join(cache.dir, 'flotilla', templates[0]!);
      // A file initdb never writes: if the second data directory holds it, it is a copy of
      // the template, not a second initdb.
      await writeFile(join(templateDir, 'copied-from-template'), 'template\n', { mode: 0o600 });

      const second = await openDb({ service: 'two', home: homes[1]!.dir });
      expect(await readFile(join(homes[1]!.dir, 'data', 'two', 'copied-from-template'), 'utf8')).toBe(
        'template\n',
      );
      const { rows } = await second.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'only_in_one'",
      );
      expect(rows[0]?.n).toBe(0);
      // The stock settings would show 128MB and 100: the embedded ones keep memory small.
      const settings = await second.query<{ name: string; setting: string }>(
        "SELECT name, setting FROM pg_settings WHERE name IN ('shared_buffers', 'max_connections', 'search_path')",
      );
      expect(Object.fromEntries(settings.rows.map((r) => [r.name, r.setting]))).toEqual({
        shared_buffers: '1024', // 8 kB pages: 8 MB
        max_connections: '3',
        search_path: 'public',
      });
      await second.close();
      // Still one template: the second service made none of its own.
      expect((await readdir(join(cache.dir, 'flotilla'))).filter((n) => !n.endsWith('.tar'))).toEqual(
        templates,
      );

      // PGlite itself writes 0666/0777: the template is the owner's only, and so is each copy's folder.
      const template = await modes(templateDir);
      expect(template.length).toBeGreaterThan(100);
      for (const m of template) expect(m.mode, m.path).toBe(m.isDir ? 0o700 : 0o600);
      expect((await stat(join(homes[1]!.dir, 'data', 'two'))).mode & 0o777).toBe(0o700);
    } finally {
      await Promise.all(homes.map((h) => h.remove()));
    }
  }, 120_000);

  it('databases in memory load the template as a tarball: no initdb in the process, each its own', async () => {
    // What PGlite is asked to start from: without `loadDataDir` it would run initdb in this process.
    const create = vi.spyOn(PGlite, 'create');
    let started: PGliteOptions[];
    try {
      const first = await openDb({ service: 'mem', inMemory: true });
      await first.exec('CREATE TABLE only_in_first (id int)');
      const second = await openDb({ service: 'mem', inMemory: true });
      const { rows } = await second.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'only_in_first'",
      );
      expect(rows[0]?.n).toBe(0);
      await Promise.all([first.close(), second.close()]);
      started = create.mock.calls.map(([options]) => options as PGliteOptions);
    } finally {
      create.mockRestore();
    }
    const tarball = (await readdir(join(cache.dir, 'flotilla'))).find((n) => n.endsWith('.tar'));
    expect(tarball).toMatch(/^pglite-\d+\.\d+\.\d+\.tar$/);
    const tarballFile = await stat(join(cache.dir, 'flotilla', tarball!));
    expect(tarballFile.mode & 0o777).toBe(0o600);
    // Both databases were loaded from that tarball, neither has a data directory of its own.
    expect(started).toHaveLength(2);
    for (const options of started) {
      expect(options.dataDir).toBeUndefined();
      expect(options.loadDataDir).toBeInstanceOf(Blob);
      expect(options.loadDataDir?.size).toBe(tarballFile.size);
    }
  }, 120_000);

  it('an unwritable user cache falls back to a template in the home', async () => {
    const home = await tempHome();
    const saved = process.env.XDG_CACHE_HOME;
    // A file where the cache folder should be: nothing can be created under it.
    const blocker = join(home.dir, 'not-a-folder');
    await writeFile(blocker, '');
    process.env.XDG_CACHE_HOME = blocker;
    try {
      const db = await openDb({ service: 'svc', home: home.dir });
      await db.query('SELECT 1');
      await db.close();
      expect((await readdir(join(home.dir, 'data'))).sort()).toEqual(['.template', 'svc']);
    } finally {
      process.env.XDG_CACHE_HOME = saved;
      await home.remove();
    }
  }, 120_000);

  it("a copy of a template is its owner's alone, whatever modes the template has", async () => {
    const home = await tempHome();
    try {
      // A template someone loosened: files 0644/0666, folders 0755/0777.
      const template = join(home.dir, 'template');
      await mkdir(join(template, 'base', '1'), { recursive: true });
      await writeFile(join(template, 'PG_VERSION'), '17\n');
      await writeFile(join(template, 'base', '1', '1259'), 'catalog');
      await chmod(join(template, 'PG_VERSION'), 0o644);
      await chmod(join(template, 'base', '1', '1259'), 0o666);
      await chmod(join(template, 'base'), 0o777);
      await chmod(template, 0o755);

      const dir = join(home.dir, 'data', 'svc');
      expect(await seedFromTemplate(dir, [template])).toBe(true);
      expect(await readFile(join(dir, 'base', '1', '1259'), 'utf8')).toBe('catalog');
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      const copied = await modes(dir);
      expect(copied.map((m) => m.path.slice(dir.length)).sort()).toEqual([
        '/PG_VERSION',
        '/base',
        '/base/1',
        '/base/1/1259',
      ]);
      for (const m of copied) expect(m.mode, m.path).toBe(m.isDir ? 0o700 : 0o600);
      // The template is read, never changed.
      expect((await stat(join(template, 'PG_VERSION'))).mode & 0o777).toBe(0o644);
    } finally {
      await home.remove();
    }
  });
});
