import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface TlsListenerOptions {
  host: string;
  port: number;
  key: string | Buffer;
  cert: string | Buffer;
  maxHeaderSize: number;
  requestTimeoutMs: number;
  headersTimeoutMs: number;
}

/**
 * The HTTPS edge listener, handing every request to the gateway's Fastify router. Until
 * the kit serves TLS itself, the kit's own listener stays on plain HTTP for health and
 * metrics, and the gateway redirects API requests that arrive there.
 */
export async function startTlsListener(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  opts: TlsListenerOptions,
): Promise<{ server: Server; port: number; close(deadlineMs: number): Promise<void> }> {
  const server = createServer(
    {
      key: opts.key,
      cert: opts.cert,
      minVersion: 'TLSv1.2',
      // Node answers 431 past this size (all request headers together).
      maxHeaderSize: opts.maxHeaderSize,
      requestTimeout: opts.requestTimeoutMs,
      headersTimeout: opts.headersTimeoutMs,
      keepAliveTimeout: 5_000,
    },
    handler,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: (deadlineMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), deadlineMs);
        server.close(() => (clearTimeout(timer), resolve()));
        server.closeIdleConnections();
      }),
  };
}
