import { runService } from '@flotilla/kit';
import { kms } from './service.js';

const running = await runService(kms);
// The fleet runner waits for this one line (log lines are pino JSON too, but never carry `listening`).
if (running) process.stdout.write(`${JSON.stringify({ listening: running.url, pid: process.pid })}\n`);
