import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { Agent, request } from 'undici';

export const ISSUER = 'https://auth.test';
export const AUDIENCE = 'https://api.test';

/** An ES256 issuer with a JWKS served from a local HTTP server. */
export async function startIssuer() {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const keys: JWK[] = [jwk];
  let fetches = 0;
  const server = await listen((_req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  const now = () => Math.floor(Date.now() / 1000);
  return {
    jwksUrl: `${server.url}/jwks`,
    jwk,
    keys,
    privateKey,
    publicKey,
    get fetches() {
      return fetches;
    },
    /** A valid access token unless overridden. */
    async token(
      claims: Record<string, unknown> = {},
      header: Record<string, unknown> = {},
      key = privateKey,
    ) {
      const body = {
        iss: ISSUER,
        aud: AUDIENCE,
        sub: 'user-1',
        client_id: 'web',
        jti: crypto.randomUUID(),
        scope: 'videos:read',
        iat: now(),
        exp: now() + 300,
        ...claims,
      };
      for (const [k, v] of Object.entries(body))
        if (v === undefined) delete (body as Record<string, unknown>)[k];
      return new SignJWT(body)
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1', ...header })
        .sign(key);
    },
    close: () => server.close(),
  };
}

/** A plain upstream on 127.0.0.1 that echoes what it received; `/slow` never answers, `/broken` sends garbage. */
export async function startUpstream() {
  const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];
  const server = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(entry);
      if (req.url?.startsWith('/slow')) return; // never answers
      if (req.url?.startsWith('/broken')) return req.socket.end('HTTP/1.1 ??? nonsense\r\n\r\n');
      if (req.url?.startsWith('/pub/range')) {
        // A ranged file as video-streaming serves one: 0123456789, one byte range at a time.
        const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
        if (!m) {
          res.writeHead(200, { 'accept-ranges': 'bytes', 'content-length': '10' });
          return res.end('0123456789');
        }
        const [first, last] = [Number(m[1]), Number(m[2])];
        if (first > 9) {
          res.writeHead(416, { 'content-range': 'bytes */10', 'content-type': 'application/problem+json' });
          return res.end('{"code":"FLT_RANGE_NOT_SATISFIABLE"}');
        }
        res.writeHead(206, {
          'accept-ranges': 'bytes',
          'content-range': `bytes ${first}-${last}/10`,
          'content-length': String(last - first + 1),
        });
        return res.end(req.method === 'HEAD' ? undefined : '0123456789'.slice(first, last + 1));
      }
      res.writeHead(200, {
        'content-type': 'application/json',
        connection: 'keep-alive, x-hop',
        'x-hop': 'secret-hop',
        'access-control-allow-origin': '*',
      });
      res.end(
        JSON.stringify({
          method: entry.method,
          url: entry.url,
          bytes: chunks.reduce((n, c) => n + c.length, 0),
        }),
      );
    });
  });
  return { url: server.url, seen, close: () => server.close() };
}

export async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A throwaway self-signed certificate for 127.0.0.1, made at run time (never committed). */
export function testCertificate(): { cert: string; key: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'gw-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const key = readFileSync(join(dir, 'key.pem'), 'utf8');
  rmSync(join(dir, 'key.pem'));
  return { cert, key, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** An HTTPS client trusting only the test certificate. */
export function client(ca: string) {
  const agent = new Agent({ connect: { ca } });
  return {
    agent,
    async call(
      url: string,
      opts: {
        method?: string;
        headers?: Record<string, string>;
        body?: string | Buffer;
        signal?: AbortSignal;
      } = {},
    ) {
      const res = await request(url, {
        method: (opts.method ?? 'GET') as 'GET',
        headers: opts.headers,
        body: opts.body,
        dispatcher: agent,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      const text = await res.body.text();
      return {
        status: res.statusCode,
        headers: res.headers as Record<string, string | undefined>,
        text,
        json: () => JSON.parse(text) as Record<string, unknown>,
      };
    },
  };
}

/** Collects log lines in memory, to check what was (not) logged. */
export function logSink() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { stream, lines, text: () => lines.join('') };
}
