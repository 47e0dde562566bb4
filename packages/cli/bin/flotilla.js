#!/usr/bin/env node
// The `flotilla` command. Sources are TypeScript; tsx loads them without a build step.
import { setFlagsFromString } from 'node:v8';
import { register } from 'tsx/esm/api';

const [command] = process.argv.slice(2);
if (command === 'up' || command === 'dev') {
  // This process hosts the control plane and its embedded PGlite: V8's optimizing tier
  // would keep a second compiled copy of PostgreSQL's WebAssembly (~30 MB, see
  // packages/cli/src/up/fleet-runner.ts). Set before any WebAssembly is compiled.
  setFlagsFromString('--liftoff-only');
}
register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
