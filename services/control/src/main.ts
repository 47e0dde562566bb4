import { runService } from '@flotilla/kit';
import { startControl } from './start.js';

// The control plane as a process of its own (a host of a multi-machine fleet, a container):
// the same start as `flotilla control` runs in-process, with the roots written to
// <FLOTILLA_HOME>/ca.pem for the services that join it. The supervisor of a fleet waits for
// one line (log lines are pino JSON too, but never carry `listening`).
const running = await runService({
  name: 'control',
  start: async (opts) => (await startControl(opts)).service,
});
if (running) process.stdout.write(`${JSON.stringify({ listening: running.url, pid: process.pid })}\n`);
