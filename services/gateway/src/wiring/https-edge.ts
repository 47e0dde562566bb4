import type { ServiceApp } from '@flotilla/kit';
import type { GatewayContext } from '../config.js';
import { startRedirectListener } from '../edge/redirect-listener.js';
import { startTlsListener } from '../edge/tls-listener.js';
import type { EdgeTls } from './edge-tls.js';
import type { GatewayRuntime } from './gateway-deps.js';

/**
 * Once the service is ready, the HTTPS edge listens (TLS_HOST:TLS_PORT) and hands every
 * request to the same router as the kit's listener; with HTTP_REDIRECT_PORT, a plain-HTTP
 * listener redirects there. A renewed workload certificate is served to new connections.
 */
export function serveHttpsEdge(
  app: ServiceApp,
  ctx: GatewayContext,
  tls: EdgeTls,
  runtime: GatewayRuntime,
): void {
  const config = ctx.config;
  app.addHook('onReady', async () => {
    const listener = await startTlsListener((req, res) => app.routing(req, res), {
      host: config.TLS_HOST ?? config.HOST,
      port: config.TLS_PORT,
      key: tls.material.key,
      cert: tls.material.cert,
      maxHeaderSize: config.MAX_HEADER_BYTES,
      requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
      headersTimeoutMs: Math.min(
        config.HEADERS_TIMEOUT_MS,
        config.REQUEST_TIMEOUT_MS || config.HEADERS_TIMEOUT_MS,
      ),
    });
    runtime.httpsPort = listener.port;
    runtime.httpsUrl = `https://${urlHost(config.TLS_HOST ?? config.HOST)}:${listener.port}`;
    // Open connections keep the certificate they were made with.
    const offChange = tls.onChange?.((m) =>
      listener.server.setSecureContext({ key: m.key, cert: m.cert, minVersion: 'TLSv1.2' }),
    );
    ctx.onClose(() => offChange?.());
    ctx.onClose(() => listener.close(config.SHUTDOWN_TIMEOUT_MS));
    if (config.HTTP_REDIRECT_PORT !== undefined) {
      const redirect = await startRedirectListener({
        host: config.HOST,
        port: config.HTTP_REDIRECT_PORT,
        httpsPort: config.PUBLIC_HTTPS_PORT ?? listener.port,
        hstsMaxAgeSec: config.HSTS_MAX_AGE_S,
        maxHeaderSize: config.MAX_HEADER_BYTES,
      });
      runtime.redirectPort = redirect.port;
      ctx.onClose(() => redirect.close());
    }
    ctx.log.info(
      { httpsPort: listener.port, redirectPort: runtime.redirectPort, certificate: tls.source },
      'gateway edge listening',
    );
  });
}

/** A listen address as a URL host: wildcard addresses become loopback, IPv6 is bracketed. */
export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
