import { runService } from '@flotilla/kit';
import { storage } from './service.js';

const running = await runService(storage);
// The fleet runner waits for this one line on stdout.
if (running) process.stdout.write(`${JSON.stringify({ listening: running.url, pid: process.pid })}\n`);
