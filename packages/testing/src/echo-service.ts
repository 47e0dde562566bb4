import { fileURLToPath } from 'node:url';
import { defineService, peerOf, type Service } from '@flotilla/kit';

/**
 * A service that answers with who called it: the verified mTLS peer. `GET /whoami` gives
 * `{ service, caller, pid }` (`caller` is the peer's SPIFFE ID, or null over plain HTTP);
 * `GET /slow` answers after 200 ms, for tests of draining and timeouts.
 *
 * @example
 * const running = await echoService('metadata').start({ env, identity });
 * const res = await client.request('metadata', running.url, { path: '/whoami' });
 */
export function echoService(name: string): Service {
  return defineService({
    name,
    routes(app, ctx) {
      app.get('/whoami', async (req) => ({
        service: ctx.name,
        caller: peerOf(req)?.id ?? null,
        pid: process.pid,
      }));
      app.get('/slow', async () => {
        await new Promise((r) => setTimeout(r, 200));
        return { ok: true };
      });
    },
  });
}

/**
 * The entry of a process that runs `echoService(ECHO_NAME ?? 'echo')` with `runService`,
 * for `spawnService`: it prints `{"listening": URL, "pid": N}` once it listens.
 *
 * @example
 * const echo = await spawnService(echoMain, { ECHO_NAME: 'echo', FLOTILLA_CONTROL_URL: url });
 */
export const echoMain = fileURLToPath(new URL('./echo-main.ts', import.meta.url));
