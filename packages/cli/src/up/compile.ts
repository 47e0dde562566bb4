import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

/**
 * A service's TypeScript compiled to one JavaScript file, run by plain `node`.
 *
 * Running the sources through tsx costs every process a module-loader thread (a second
 * V8 isolate, ~35 MB) plus a transform of each file at start; a process of a fleet
 * needs neither. Only the repository's own sources are bundled: packages from
 * node_modules stay separate modules, imported by absolute URL, so they load exactly
 * as they would from the sources (one instance each, their own files beside them).
 * Each bundled file keeps its own `import.meta.url`, so `new URL('../migrations',
 * import.meta.url)` still finds its folder.
 *
 * The output is reused while none of its inputs changed (size and mtime), so a warm
 * start compiles nothing and `flotilla dev` recompiles only the service that changed.
 */
export function compileService(entry: string, outDir: string, name?: string): Promise<string> {
  const id = createHash('sha256').update(resolve(entry)).digest('hex').slice(0, 12);
  const stem = basename(entry).replace(/\.[cm]?[jt]s$/, '');
  const dir = join(outDir, name ?? `${basename(dirname(dirname(entry)))}-${stem}-${id}`);
  // Instances of one service start together: they share one compile rather than two
  // builds writing the same files.
  let compiling = inFlight.get(dir);
  if (!compiling) {
    compiling = compileInto(entry, dir, stem).finally(() => inFlight.delete(dir));
    inFlight.set(dir, compiling);
  }
  return compiling;
}

const inFlight = new Map<string, Promise<string>>();

async function compileInto(entry: string, dir: string, stem: string): Promise<string> {
  const file = join(dir, `${stem}.mjs`);
  const manifest = join(dir, 'inputs.json');
  if (await upToDate(manifest)) return file;

  await mkdir(dir, { recursive: true, mode: 0o700 });
  const began = Date.now();
  const result = await build({
    entryPoints: [entry],
    outdir: dir,
    // A dynamic import() stays lazy, with the packages it imports (the CLI's commands).
    splitting: true,
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'silent',
    write: false,
    plugins: [ownSourcesOnly],
  });
  // Chunks are named by content and never deleted, so a process still running an older
  // build (flotilla dev) can import its lazy chunks; the entry is replaced atomically.
  for (const out of result.outputFiles) {
    await mkdir(dirname(out.path), { recursive: true, mode: 0o700 });
    const tmp = `${out.path}.${process.pid}.tmp`;
    await writeFile(tmp, out.contents, { mode: 0o600 });
    await rename(tmp, out.path);
  }
  // Packages are imported by path: an npm install that moves one must rebuild too.
  const installed = await installedTree(dirname(resolve(entry)));
  const inputs = await Promise.all(
    [...Object.keys(result.metafile.inputs), ...(installed ? [installed] : [])].map(async (path) => {
      const now = await stamp(path);
      // Saved while the build read it (or dated later still): the output may hold the
      // older text, so the next start must not trust this stamp.
      const settled = now && now.mtimeMs < began - MTIME_SLACK_MS;
      return { path: resolve(path), ...(settled ? now : { size: -1, mtimeMs: -1 }) };
    }),
  );
  await writeFile(manifest, JSON.stringify(inputs), { mode: 0o600 });
  return file;
}

/** File systems stamp times coarsely (and clocks step): a file this recent is not trusted as read. */
const MTIME_SLACK_MS = 2000;

/** npm's record of what is installed (`node_modules/.package-lock.json`), nearest first. */
async function installedTree(from: string): Promise<string | undefined> {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'node_modules', '.package-lock.json');
    if (await stamp(file)) return file;
    if (dirname(dir) === dir) return undefined;
  }
}

async function stamp(path: string): Promise<{ size: number; mtimeMs: number } | null> {
  try {
    const s = await stat(path);
    return { size: s.size, mtimeMs: s.mtimeMs };
  } catch {
    return null;
  }
}

async function upToDate(manifest: string): Promise<boolean> {
  let inputs: Array<{ path: string; size: number; mtimeMs: number }>;
  try {
    inputs = JSON.parse(await readFile(manifest, 'utf8')) as typeof inputs;
  } catch {
    return false;
  }
  const now = await Promise.all(inputs.map((i) => stamp(i.path)));
  return now.every((s, k) => s !== null && s.size === inputs[k]!.size && s.mtimeMs === inputs[k]!.mtimeMs);
}

const IN_NODE_MODULES = /[\\/]node_modules[\\/]/;
// Patterns, not strings: this file is itself compiled (the CLI, bin/flotilla.js), and
// must not rewrite its own search text.
const META_URL = /\bimport\.meta\.url\b/g;
const META_DIRNAME = /\bimport\.meta\.dirname\b/g;
const META_FILENAME = /\bimport\.meta\.filename\b/g;

const ownSourcesOnly: Plugin = {
  name: 'flotilla-own-sources',
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.kind === 'entry-point' || (args.pluginData as { inner?: boolean } | undefined)?.inner)
        return undefined;
      const resolved = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { inner: true },
      });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      if (resolved.external) return { path: args.path, external: true };
      if (IN_NODE_MODULES.test(resolved.path))
        return { path: pathToFileURL(resolved.path).href, external: true };
      return { path: resolved.path };
    });
    b.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
      if (IN_NODE_MODULES.test(args.path)) return undefined;
      const source = await readFile(args.path, 'utf8');
      return {
        contents: source
          .replace(META_URL, JSON.stringify(pathToFileURL(args.path).href))
          .replace(META_DIRNAME, JSON.stringify(dirname(args.path)))
          .replace(META_FILENAME, JSON.stringify(args.path)),
        loader: 'ts',
      };
    });
  },
};
