import { runService } from '@flotilla/kit';
import { thumbnails } from './service.js';

const running = await runService(thumbnails);
// The fleet runner waits for exactly this line on stdout.
if (running) process.stdout.write(`${JSON.stringify({ listening: running.url, pid: process.pid })}\n`);
