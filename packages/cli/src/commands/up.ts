import { type FSWatcher, watch } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { type Args, bool, type Handler, str } from '../cli/spec.js';
import { fleetHome } from '../home.js';
import { printError } from '../output.js';
import { compileFleet, type RunningFleet, runFleet } from '../up/fleet-runner.js';

/** `flotilla up`: what `npm start` runs. */
export const up: Handler = (args) => (bool(args, 'compile-only') ? compileOnly(args) : runUp(args, false));

/** `flotilla up --compile-only`: build every service of the fleet, start nothing. */
async function compileOnly(args: Args): Promise<number> {
  const began = Date.now();
  const count = await compileFleet(resolve(str(args, 'file') ?? 'flotilla.yaml'), fleetHome(args));
  process.stdout.write(`compiled ${count} services in ${((Date.now() - began) / 1000).toFixed(1)} s\n`);
  return 0;
}

/** `flotilla dev`: `flotilla up`, and a change under a service's folder restarts that service alone. */
export const dev: Handler = (args) => runUp(args, true);

async function runUp(args: Args, live: boolean): Promise<number> {
  const file = resolve(str(args, 'file') ?? 'flotilla.yaml');
  const home = fleetHome(args);
  const started = Date.now();
  const fleet = await runFleet({
    file,
    home,
    onEvent: (e) => {
      if (e.type === 'control') progress('control', `ready at ${e.url}`, e.ms);
      else if (e.type === 'started') progress(e.name, `ready at ${e.url}`, e.ms);
      else if (e.type === 'restarted') progress(e.name, `restarted at ${e.url}`);
      else {
        printError(
          `${e.name} crashed (${e.signal ?? `exit ${e.code}`}); restarting in ${e.restartInMs / 1000} s${
            e.lastLines.length ? `: ${e.lastLines.at(-1)}` : ''
          }`,
        );
      }
    },
  });
  printReady(fleet, home, Date.now() - started);
  const watchers = live ? watchServices(fleet, dirname(file)) : [];

  await new Promise<void>((resolveStop) => {
    const onSignal = () => {
      process.stdout.write('\nstopping the fleet…\n');
      // Node 20's recursive watchers keep the process alive even when unref'd.
      for (const w of watchers) w.close();
      fleet.stop().then(resolveStop, resolveStop);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  return 0;
}

function progress(name: string, what: string, ms?: number): void {
  process.stdout.write(
    `  ✓ ${name.padEnd(12)} ${what}${ms === undefined ? '' : ` (${(ms / 1000).toFixed(1)} s)`}\n`,
  );
}

function printReady(fleet: RunningFleet, home: string, ms: number): void {
  const users = join(home, 'secrets', 'users.json');
  const lines = [
    '',
    `  ${fleet.fleet.name} is up in ${(ms / 1000).toFixed(1)} s — open ${fleet.state.gateway}/`,
    '',
    `  demo users   ${fleet.secrets.users.map((u) => `${u.username} (${u.roles.join(', ')})`).join(', ')}`,
    `               passwords in ${relative(process.cwd(), users) || users}`,
  ];
  if (fleet.secrets.created) {
    for (const u of fleet.secrets.users)
      lines.push(`               ${u.username}: ${u.password}   (shown once)`);
  }
  lines.push(
    `  trust        the fleet's root CA is ${relative(process.cwd(), join(home, 'ca.pem'))}: import it into your browser,`,
    `               or use curl --cacert ${relative(process.cwd(), join(home, 'ca.pem'))}`,
    '  status       npx flotilla status    logs: npx flotilla logs    stop: Ctrl-C',
    '',
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `flotilla dev`: a change under a service's folder restarts that service alone. */
function watchServices(fleet: RunningFleet, root: string): FSWatcher[] {
  return fleet.supervisor.processes().map((proc) => {
    const folder = serviceFolder(proc.spec.entry);
    let timer: NodeJS.Timeout | undefined;
    const watcher = watch(folder, { recursive: true }, (_event, name) => {
      if (!name || name.includes('node_modules') || name.startsWith('.')) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        progress(proc.spec.name, `changed (${relative(root, join(folder, name))}); restarting`);
        fleet.supervisor
          .restart(proc.spec.name)
          .catch((err: unknown) => printError(`${proc.spec.name}: ${(err as Error).message}`));
      }, 300);
    });
    watcher.unref(); // returns undefined for a recursive watcher on Node 20
    return watcher;
  });
}

/** The service's own folder: the parent of its `src/`. */
function serviceFolder(entry: string): string {
  const src = entry.lastIndexOf('/src/');
  return src > 0 ? entry.slice(0, src) : dirname(entry);
}
