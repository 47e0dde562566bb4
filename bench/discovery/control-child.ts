/**
 * A control plane in its own process, for bench/discovery/registry-load.ts (which starts it
 * with `node --import tsx`, so that its CPU and memory can be read from /proc on its own).
 * Not meant to be run by hand. Settings come from the environment (FLOTILLA_HOME,
 * REGISTRY_*, …); it prints one line `{"control":{"url","adminToken","roots","pid"}}` once
 * it listens, and stops cleanly on SIGTERM, SIGINT or when its stdin closes (parent gone).
 */
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
process.stdin.resume();
