import { runService } from '@flotilla/kit';
import { createGatewayService, type GatewayRuntime } from './gateway.js';

const runtime: GatewayRuntime = {};
const running = await runService(createGatewayService({}, runtime));
// The fleet runner waits for this one line: where clients go, i.e. the HTTPS edge (the kit's
// own listener only serves health, metrics and, with an identity, mTLS callers). Log lines
// are pino JSON too, but never carry `listening`.
if (running) {
  const listening = runtime.httpsUrl ?? running.url;
  process.stdout.write(`${JSON.stringify({ listening, pid: process.pid })}\n`);
}
