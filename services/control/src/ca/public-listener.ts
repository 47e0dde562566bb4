import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { CertificateAuthority } from './certificate-authority.js';
import type { OcspResponder } from './ocsp.js';

const MAX_OCSP_REQUEST = 16 * 1024;

export interface PublicListener {
  url: string;
  close(): Promise<void>;
}

/**
 * The plain-HTTP listener that certificates point at (CRL distribution point, AIA):
 * relying parties fetch revocation status before they can speak TLS to anyone, and
 * everything served here is signed, so it needs no transport security (RFC 5280 §4.2.1.13).
 *
 *   GET  /crl/<ca>.crl   DER CRL (application/pkix-crl)
 *   GET  /crl/<ca>.pem   PEM CRL (-----BEGIN X509 CRL-----)
 *   GET  /ca/<ca>.crt    DER CA certificate (AIA caIssuers)
 *   GET  /bundle.pem     current roots
 *   POST /ocsp           RFC 6960 §A.1 (application/ocsp-request)
 *   GET  /ocsp/<base64>  RFC 6960 §A.1, the URL-encoded base64 of the DER request
 */
export async function startPublicListener(
  opts: { host: string; port: number; publicUrl?: string | undefined },
  deps: { ca: () => CertificateAuthority; ocsp: () => OcspResponder; log: Logger },
): Promise<PublicListener> {
  const server = createServer((req, res) => {
    handle(req, res, deps).catch((err: unknown) => {
      deps.log.error({ err }, 'public listener request failed');
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host;
  return { url: opts.publicUrl ?? `http://${host}:${port}`, close: () => closeServer(server) };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  deps: { ca: () => CertificateAuthority; ocsp: () => OcspResponder },
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const method = req.method ?? 'GET';
  if (method === 'POST' && path === '/ocsp') {
    const body = await readBody(req, MAX_OCSP_REQUEST);
    if (!body) return send(res, 413, 'text/plain', 'request too large\n');
    // RFC 5019 §5: POST answers are not cached by intermediaries.
    return send(res, 200, 'application/ocsp-response', await deps.ocsp().respond(body), 'no-store');
  }
  if (method !== 'GET' && method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
  if (path.startsWith('/ocsp/')) {
    const der = decodeGetRequest(path.slice('/ocsp/'.length));
    const answer = await deps.ocsp().respond(der ?? new Uint8Array(0));
    return send(
      res,
      200,
      'application/ocsp-response',
      answer,
      'max-age=60, public, no-transform, must-revalidate',
    );
  }
  const crl = /^\/crl\/([a-z]+-[0-9a-f]+)\.(crl|pem)$/.exec(path);
  if (crl?.[1]) {
    const signed = deps.ca().crls.get(crl[1]);
    if (!signed) return send(res, 404, 'text/plain', 'no such CRL\n');
    const maxAge = Math.max(0, Math.floor((signed.nextUpdate.getTime() - Date.now()) / 2000));
    return crl[2] === 'crl'
      ? send(res, 200, 'application/pkix-crl', signed.der, `max-age=${maxAge}`)
      : send(res, 200, 'application/x-pem-file', signed.pem, `max-age=${maxAge}`);
  }
  const caCert = /^\/ca\/([a-z]+-[0-9a-f]+)\.crt$/.exec(path);
  if (caCert?.[1]) {
    const authority = deps.ca().store.get(caCert[1]);
    if (!authority) return send(res, 404, 'text/plain', 'no such CA\n');
    return send(res, 200, 'application/pkix-cert', Buffer.from(authority.cert.rawData));
  }
  if (path === '/bundle.pem')
    return send(res, 200, 'application/x-pem-file', deps.ca().bundle().roots.join(''));
  if (path === '/livez') return send(res, 200, 'application/json', '{"status":"alive"}');
  return send(res, 404, 'text/plain', 'not found\n');
}

function decodeGetRequest(encoded: string): Uint8Array | undefined {
  try {
    // Clients differ in whether they percent-encode '/', '+' and '='; accept both.
    const b64 = decodeURIComponent(encoded);
    if (!/^[A-Za-z0-9+/=_-]+$/.test(b64)) return undefined;
    return Buffer.from(b64, b64.includes('-') || b64.includes('_') ? 'base64url' : 'base64');
  } catch {
    return undefined;
  }
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) return undefined;
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  cacheControl = 'no-cache',
): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': cacheControl,
    'x-content-type-options': 'nosniff',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
