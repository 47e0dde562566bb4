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
export async function compileService(entry: string, outDir: string): Promise<string> {
  const id = createHash('sha256').update(resolve(entry)).digest('hex').slice(0, 12);
  const name = basename(entry).replace(/\.[cm]?[jt]s$/, '');
  const file = join(outDir, `${basename(dirname(dirname(entry)))}-${name}-${id}.mjs`);
  const manifest = `${file}.inputs.json`;
  if (await upToDate(manifest)) return file;

  await mkdir(outDir, { recursive: true, mode: 0o700 });
  const result = await build({
    entryPoints: [entry],
    outfile: file,
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
  for (const out of result.outputFiles) {
    const tmp = `${out.path}.${process.pid}.tmp`;
    await writeFile(tmp, out.contents, { mode: 0o600 });
    await rename(tmp, out.path);
  }
  const inputs = await Promise.all(
    Object.keys(result.metafile.inputs).map(async (path) => ({
      path: resolve(path),
      ...(await stamp(path)),
    })),
  );
  await writeFile(manifest, JSON.stringify(inputs), { mode: 0o600 });
  return file;
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
          .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
          .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path)))
          .replaceAll('import.meta.filename', JSON.stringify(args.path)),
        loader: 'ts',
      };
    });
  },
};
