#!/usr/bin/env node
// The `flotilla` command. Its sources are TypeScript: it runs them compiled into one
// JavaScript file (src/up/compile.ts) when that file is current, and otherwise through
// tsx while it compiles them for the next run. tsx costs every process a loader thread
// (a second V8 isolate, ~35 MB), and `flotilla up` lives as long as the fleet.
import { readFileSync, statSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// V8's compiled code for every module, kept on disk by Node (22.1+) and shared by this
// process and the fleet's (which inherit the variable): a fleet of a dozen Node processes
// on two cores spends most of its start compiling the same node_modules (measured on
// FlixTube: ~24% less CPU to all-ready). Keyed by content: a changed file is compiled again.
process.env.NODE_COMPILE_CACHE ??= join(
  process.env.XDG_CACHE_HOME || join(homedir(), '.cache'),
  'flotilla',
  'node-compile-cache',
);
nodeModule.enableCompileCache?.(process.env.NODE_COMPILE_CACHE);

const argv = process.argv.slice(2);
if (argv[0] === 'up' || argv[0] === 'dev') {
  // This process hosts the control plane and its embedded PGlite: V8's optimizing tier
  // would keep a second compiled copy of PostgreSQL's WebAssembly (~30 MB, see
  // packages/cli/src/up/fleet-runner.ts). Set before any WebAssembly is compiled.
  setFlagsFromString('--liftoff-only');
}

const SOURCE = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const CACHE = fileURLToPath(new URL('../node_modules/.cache/flotilla/', import.meta.url));
const COMPILED = `${CACHE}flotilla-cli/main.mjs`;

/** The compiled CLI, if every source it was built from is unchanged (size and mtime). */
function current() {
  try {
    const inputs = JSON.parse(readFileSync(`${CACHE}flotilla-cli/inputs.json`, 'utf8'));
    return inputs.every((i) => {
      const s = statSync(i.path);
      return s.size === i.size && s.mtimeMs === i.mtimeMs;
    });
  } catch {
    return false;
  }
}

let main;
if (current() && !process.env.FLOTILLA_CLI_TSX) {
  ({ main } = await import(pathToFileURL(COMPILED).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  if (!process.env.FLOTILLA_CLI_TSX) {
    const { compileService } = await import('../src/up/compile.ts');
    await compileService(SOURCE, CACHE, 'flotilla-cli').catch(() => undefined);
  }
  ({ main } = await import('../src/main.ts'));
}
process.exitCode = await main(argv);
