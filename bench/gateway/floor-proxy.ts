// The least a Node process can do as (b): TLS in, the same request out over TLS to the
// upstream, the answer back. No token check, no policy, no limits, no headers rewritten,
// no logs or metrics — not a gateway, a floor. Run in (b)'s place with
//
//   npx tsx bench/gateway/run.ts --upstream plain --workers 1 --peak-only \
//     --gateway-main bench/gateway/floor-proxy.ts
//
// to see what Node itself costs a request on this host against HAProxy doing all of its
// work. It takes the gateway's settings from the benchmark (TLS_CERT_FILE, TLS_KEY_FILE,
// GATEWAY_ROUTES_FILE's `upstreams.videos`, NODE_EXTRA_CA_CERTS for the upstream's
// certificate) and announces itself as the gateway does.
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type Dispatcher, Pool } from 'undici';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`floor-proxy: ${name} is required`);
  return value;
};
const routes = JSON.parse(readFileSync(env('GATEWAY_ROUTES_FILE'), 'utf8')) as {
  upstreams?: Record<string, string>;
};
const upstream = routes.upstreams?.videos;
if (!upstream) throw new Error('floor-proxy: needs a URL upstream (run.ts --upstream plain)');
const pool = new Pool(upstream, { connections: 128 });

/** Collects the upstream's answer and writes it to the client in one go, as the gateway does. */
class Relay implements Dispatcher.DispatchHandler {
  #status = 0;
  #type: string | undefined;
  readonly #chunks: Buffer[] = [];
  constructor(private readonly res: ServerResponse) {}
  onRequestStart() {
    // nothing to remember: this floor never cancels a call
  }
  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: Record<string, unknown>) {
    this.#status = status;
    this.#type = headers['content-type'] as string | undefined;
  }
  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer) {
    this.#chunks.push(chunk);
  }
  onResponseEnd() {
    const body = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.res.writeHead(this.#status, {
      'content-type': this.#type ?? 'application/octet-stream',
      'content-length': body.length,
    });
    this.res.end(body);
  }
  onResponseError() {
    this.res.writeHead(502).end();
  }
}

const server = createServer(
  {
    cert: readFileSync(env('TLS_CERT_FILE')),
    key: readFileSync(env('TLS_KEY_FILE')),
    keepAliveTimeout: 60_000,
  },
  (req, res) => {
    const path = req.url!.replace(/^\/api/, '');
    pool.dispatch(
      { method: 'GET', path, headers: { authorization: req.headers.authorization ?? '' } },
      new Relay(res),
    );
  },
);
server.listen(0, process.env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ listening: `https://127.0.0.1:${port}`, pid: process.pid })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  void pool.close().then(() => process.exit(0));
});
