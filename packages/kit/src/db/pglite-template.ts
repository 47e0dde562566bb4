import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { chmod, cp, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { PGLITE_START_PARAMS } from './pglite-settings.js';

const require = createRequire(import.meta.url);
const PGLITE_ENTRY = require.resolve('@electric-sql/pglite');
const PGLITE_VERSION = (
  JSON.parse(readFileSync(join(dirname(PGLITE_ENTRY), '..', 'package.json'), 'utf8')) as { version: string }
).version;

/**
 * Where the initialized, empty data directory is kept: one per user and PGlite version
 * (`$XDG_CACHE_HOME/flotilla/pglite-<version>`), so a fresh `.flotilla/` copies it
 * instead of running initdb again. It holds what initdb writes — catalogs and
 * configuration, no data, no secret — and is made 0700/0600 like the copies.
 * Falls back to `<home>/data/.template` when the user cache cannot be written.
 */
export function templateDirs(home: string): string[] {
  return [cachedTemplate(), join(home, 'data', '.template')];
}

function cachedTemplate(): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'flotilla', `pglite-${PGLITE_VERSION}`);
}

/**
 * Makes the user-wide template now rather than at the first start (`npm install` runs
 * this through packages/kit/scripts/prepare-pglite-template.ts). Returns its folder.
 */
export async function prepareTemplate(): Promise<string> {
  const template = cachedTemplate();
  await ensureTemplate(template);
  return template;
}

const hasCluster = (dir: string) =>
  stat(join(dir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );

/**
 * Gives `dir` a PostgreSQL cluster copied from a template when it has none yet, so
 * initdb (seconds of CPU, and a WebAssembly heap of ~700 MB that the process would
 * keep) runs once per template, in a short-lived child process. Returns false when no
 * template could be made: the caller then lets PGlite run initdb in `dir` itself.
 */
export async function seedFromTemplate(dir: string, templates: readonly string[]): Promise<boolean> {
  if (await hasCluster(dir)) return true;
  if ((await readdir(dir).catch(() => [])).length > 0) return false; // not ours to overwrite
  for (const template of templates) {
    try {
      await ensureTemplate(template);
    } catch {
      continue;
    }
    const copy = `${dir}.seed-${randomBytes(4).toString('hex')}`;
    try {
      await copyRestricted(template, copy);
      await rm(dir, { recursive: true, force: true });
      await rename(copy, dir);
      return true;
    } catch {
      await rm(copy, { recursive: true, force: true });
    }
  }
  return false;
}

/**
 * Copies a template to a new data directory that only its owner may read. Where there
 * is a system `cp`, it and `chmod` run in child processes: ~1,000 files copied in C off
 * this process's thread (~70 ms, against ~450 ms of this process's CPU for Node 20's
 * `fs.cp` and a chmod per file, which `flotilla up` would pay once per database while
 * it also starts the control plane). Otherwise `fs.cp` and `restrict`.
 */
async function copyRestricted(from: string, to: string): Promise<void> {
  if (process.platform !== 'win32') {
    await mkdir(dirname(to), { recursive: true, mode: 0o700 });
    if ((await run('cp', ['-pR', from, to])) && (await run('chmod', ['-R', 'u=rwX,go=', to]))) return;
    await rm(to, { recursive: true, force: true });
  }
  await cp(from, to, { recursive: true });
  await restrict(to);
}

/** Whether a program ran and exited 0. */
const run = (file: string, args: string[]) =>
  new Promise<boolean>((resolve) => execFile(file, args, (err) => resolve(err === null)));

/** Creates the template once; concurrent creators race, the first rename wins. */
async function ensureTemplate(template: string): Promise<void> {
  if (await hasCluster(template)) return;
  await mkdir(dirname(template), { recursive: true, mode: 0o700 });
  const tmp = `${template}.init-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await initdb(tmp);
    await restrict(tmp);
    await rename(tmp, template).catch(async (err: NodeJS.ErrnoException) => {
      if (!(await hasCluster(template))) throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * initdb in a child process: PGlite's initdb peaks at ~700 MB of WebAssembly memory,
 * which a process never gives back. Liftoff-only compiles the WebAssembly once, fast.
 */
async function initdb(dir: string, tarball?: string): Promise<void> {
  const script = `import(process.argv[1]).then(async ({ PGlite }) => {
    const db = await PGlite.create({ dataDir: process.argv[2], startParams: JSON.parse(process.argv[3]) });
    if (process.argv[4]) {
      const tar = await db.dumpDataDir('none');
      require('node:fs').writeFileSync(process.argv[4], Buffer.from(await tar.arrayBuffer()), { mode: 0o600 });
    }
    await db.close();
  }).catch((err) => { console.error(String(err)); process.exit(1); });`;
  const child = spawn(
    process.execPath,
    [
      '--liftoff-only',
      '-e',
      script,
      PGLITE_ENTRY,
      dir,
      JSON.stringify(PGLITE_START_PARAMS),
      ...(tarball ? [tarball] : []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '' } },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`PGlite initdb failed (${code}): ${stderr.trim().slice(-500)}`);
  if (!(await hasCluster(dir))) throw new Error('PGlite initdb wrote no cluster');
}

/**
 * The template as a tarball, for databases kept in memory (tests): PGlite loads it
 * instead of running initdb in the process. Kept in the user cache only; undefined
 * when it cannot be made there (the caller then lets PGlite run initdb).
 */
export async function templateTarball(): Promise<Blob | undefined> {
  const cached = cachedTemplate();
  const tarball = `${cached}.tar`;
  try {
    return new Blob([await readFile(tarball)]);
  } catch {
    // made below
  }
  const tmp = `${cached}.tar-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await mkdir(tmp, { recursive: true, mode: 0o700 });
    await seedFromTemplate(tmp, [cached]);
    await initdb(tmp, `${tmp}.tar`);
    await rename(`${tmp}.tar`, tarball);
    return new Blob([await readFile(tarball)]);
  } catch {
    return undefined;
  } finally {
    await rm(tmp, { recursive: true, force: true });
    await rm(`${tmp}.tar`, { force: true });
  }
}

/** Data directories are the owner's alone: PGlite writes 0666/0777. */
async function restrict(dir: string): Promise<void> {
  await chmod(dir, 0o700);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await restrict(path);
    else await chmod(path, 0o600);
  }
}
