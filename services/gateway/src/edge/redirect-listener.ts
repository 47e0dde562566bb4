import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RedirectListenerOptions {
  host: string;
  port: number;
  /** Port of the HTTPS listener as clients see it (443 is left out of the URL). */
  httpsPort: number;
  hstsMaxAgeSec: number;
  maxHeaderSize: number;
}

const HOSTNAME = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d+)?$/;

/**
 * Plain HTTP that only redirects to HTTPS with 308 (RFC 9110 §15.4.9: method and body are
 * kept, unlike 301). It answers nothing else, reads no body, and refuses a bad `Host`
 * rather than redirect to wherever a client says.
 */
export async function startRedirectListener(
  opts: RedirectListenerOptions,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer(
    { maxHeaderSize: opts.maxHeaderSize, requestTimeout: 10_000, headersTimeout: 5_000 },
    (req, res) => {
      const host = req.headers.host ?? '';
      const common = {
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
        connection: 'close',
      };
      if (!HOSTNAME.test(host) || !req.url?.startsWith('/')) {
        res.writeHead(400, { ...common, 'content-type': 'text/plain' }).end('bad request\n');
        return;
      }
      const name = host.replace(/:\d+$/, '');
      const port = opts.httpsPort === 443 ? '' : `:${opts.httpsPort}`;
      res
        .writeHead(308, { ...common, location: `https://${name}${port}${req.url}`, 'content-length': '0' })
        .end();
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
