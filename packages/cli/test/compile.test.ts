import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileService } from '../src/up/compile.js';

const fixture = join(import.meta.dirname, 'fixtures', 'compile', 'src');
const entry = join(fixture, 'main.ts');

describe('services compiled for plain node (issue 8)', () => {
  let out: string;
  beforeEach(async () => {
    out = await mkdtemp(join(tmpdir(), 'flotilla-compile-'));
  });
  afterEach(() => rm(out, { recursive: true, force: true }));

  it('bundles own sources, keeps each file its import.meta.url, imports packages by path, keeps lazy imports lazy', async () => {
    const file = await compileService(entry, out);
    const { stdout } = await promisify(execFile)(process.execPath, [file]);
    expect(parse(stdout)).toEqual({ folder: `${join(fixture, 'lib')}/`, lazy: 42 });
    const code = await readFile(file, 'utf8');
    expect(code).toMatch(/from "file:\/\/\/[^"]*\/node_modules\/yaml\/[^"]*"/);
    expect(code).not.toContain('class Document'); // yaml itself is not copied in
    expect(await readdir(join(file, '..', 'chunks'))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^lazy-.*\.mjs$/)]),
    );
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('reuses the output until a source changes', async () => {
    const file = await compileService(entry, out);
    const built = (await stat(file)).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    expect(await compileService(entry, out)).toBe(file);
    expect((await stat(file)).mtimeMs).toBe(built);

    const now = new Date();
    await utimes(join(fixture, 'lib', 'lazy.ts'), now, now);
    await compileService(entry, out);
    expect((await stat(file)).mtimeMs).toBeGreaterThan(built);
  });

  it('does not trust a source saved while it was being compiled: the next start compiles again', async () => {
    const lazy = join(fixture, 'lib', 'lazy.ts');
    const past = new Date(Date.now() - 60_000);
    await utimes(lazy, past, past);
    await compileService(entry, out); // everything settled: a clean manifest
    try {
      // A save that lands during the build carries a time after the build began.
      const during = new Date(Date.now() + 500);
      await utimes(lazy, during, during);
      const file = await compileService(entry, out);
      const built = (await stat(file)).mtimeMs;
      await new Promise((r) => setTimeout(r, 20));
      await compileService(entry, out);
      expect((await stat(file)).mtimeMs).toBeGreaterThan(built);
    } finally {
      const now = new Date(Date.now() - 5000);
      await utimes(lazy, now, now);
    }
  });

  it('compiles once for instances starting together', async () => {
    const [a, b] = await Promise.all([compileService(entry, out), compileService(entry, out)]);
    expect(a).toBe(b);
    const { stdout } = await promisify(execFile)(process.execPath, [a]);
    expect(parse(stdout)).toMatchObject({ lazy: 42 });
    // One build: no temporary file of a second writer left behind.
    expect((await readdir(join(a, '..'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
