/**
 * The control plane in its own process for bench/ca/signing.ts, so that it runs apart
 * from the load generator exactly as `cfssl serve` does. Not meant to be run by hand.
 * Settings come from the environment (FLOTILLA_HOME, LOG_LEVEL, …); the database is the
 * default embedded one on disk under FLOTILLA_HOME, as `flotilla up` runs it. Prints one
 * line `{"control":{"url","adminToken","roots","pid"}}` once it listens; stops on SIGTERM,
 * SIGINT, or when its stdin closes (parent gone).
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { startControl } from '@flotilla/control';

const control = await startControl({ env: process.env, writeBundleFile: false });
process.stdout.write(
  `${JSON.stringify({
    control: {
      url: control.url,
      adminToken: control.adminToken,
      roots: control.bundle().roots.join(''),
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
process.stdin.resume();

// BENCH_PROFILE_DIR: SIGUSR2 starts the CPU profiler, the next SIGUSR2 writes the profile
// there, so that only the timed requests are in it (not start-up or token creation).
const profileDir = process.env.BENCH_PROFILE_DIR;
if (profileDir) {
  const session = new Session();
  session.connect();
  let profiling = false;
  let n = 0;
  process.on('SIGUSR2', () => {
    const toggle = async () => {
      if (!profiling) {
        await session.post('Profiler.enable');
        await session.post('Profiler.start');
      } else {
        const { profile } = await session.post('Profiler.stop');
        await writeFile(
          join(profileDir, `control-${process.pid}-${(n += 1)}.cpuprofile`),
          JSON.stringify(profile),
        );
      }
      profiling = !profiling;
    };
    toggle().catch((err: unknown) => console.error(err));
  });
}
