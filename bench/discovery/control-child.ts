/**
 * A control plane in its own process, for bench/discovery/registry-load.ts (which starts it
 * with `node --import tsx`, so that its CPU and memory can be read from /proc on its own).
 * Not meant to be run by hand. Settings come from the environment (FLOTILLA_HOME,
 * REGISTRY_*, …); it prints one line `{"control":{"url","adminToken","roots","pid"}}` once
 * it listens, and stops cleanly on SIGTERM, SIGINT or when its stdin closes (parent gone).
 *
 * Profiling (BENCH_CPU_PROF in the bench): a stdin line `cpu-prof start` starts the V8 CPU
 * profiler through an in-process inspector session; `cpu-prof stop <file>` writes the
 * profile (.cpuprofile, for Chrome DevTools or bench/discovery/profile-summary.ts) and
 * answers `{"profiled":"<file>"}`. Only the measured window is profiled, not the start-up.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { createInterface } from 'node:readline';
import { startControl } from '@flotilla/control';

const control = await startControl({ env: process.env });
process.stdout.write(
  `${JSON.stringify({
    control: {
      url: control.url,
      adminToken: control.adminToken,
      roots: control.bundle().roots.join('\n'),
      pid: process.pid,
    },
  })}\n`,
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await control.stop().catch(() => undefined);
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('end', () => void stop());

let session: Session | undefined;
createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, verb, file] = line.trim().split(' ');
  if (cmd !== 'cpu-prof') return;
  void (async () => {
    if (verb === 'start' && !session) {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 1000 });
      await session.post('Profiler.start');
    } else if (verb === 'stop' && session && file) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      session = undefined;
      await writeFile(file, JSON.stringify(profile));
      process.stdout.write(`${JSON.stringify({ profiled: file })}\n`);
    }
  })();
});
