import { runService } from '@flotilla/kit';
import { broker } from './service.js';

const running = await runService(broker);
// The fleet runner waits for this one line (log lines are pino JSON too, but never carry `listening`).
if (running) process.stdout.write(`${JSON.stringify({ listening: running.url, pid: process.pid })}\n`);
