import { runService } from '@flotilla/kit';
import { likes } from './service.js';

const running = await runService(likes);
// The fleet runner waits for exactly this line on stdout.
if (running) process.stdout.write(`${JSON.stringify({ listening: running.url, pid: process.pid })}\n`);
