import { runService } from '@flotilla/kit';
import { hello } from './service.js';

const running = await runService(hello);
// `flotilla up` waits for exactly this line on stdout.
if (running) process.stdout.write(`${JSON.stringify({ listening: running.url, pid: process.pid })}\n`);
