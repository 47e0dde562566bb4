// The benchmark's upstream as a Flotilla service: the same small JSON answer as
// upstream.ts, but run by the kit with a workload identity from the control plane
// (FLOTILLA_CONTROL_URL, FLOTILLA_JOIN_TOKEN): mTLS only, registered in discovery, callers
// checked against FLOTILLA_ALLOWED_CALLS. Prints {"listening": URL, "pid": N} when up.
import { defineService, peerOf, runService } from '@flotilla/kit';

const body = JSON.stringify({ id: 42, title: 'a video', views: 1234 });
// Callers seen, by SPIFFE ID: the benchmark checks that (b) and (c) really came over mTLS.
const callers = new Map<string, number>();

const running = await runService(
  defineService({
    name: 'videos',
    routes(app) {
      app.get('/videos/:id', async (req, reply) => {
        const caller = peerOf(req)?.id ?? 'none';
        callers.set(caller, (callers.get(caller) ?? 0) + 1);
        return reply.header('content-type', 'application/json').send(body);
      });
      app.get('/__callers', async () => Object.fromEntries(callers));
    },
  }),
);
if (running) process.stdout.write(`${JSON.stringify({ listening: running.url, pid: process.pid })}\n`);
