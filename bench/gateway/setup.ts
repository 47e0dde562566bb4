// The run's fixed setup, before any measurement: the tools it needs, the edge/upstream
// certificate, the token issuer (its JWKS server and one token) and the gateway's routes file.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { AUDIENCE, dir, ISSUER } from './options.js';
import type { BareUpstream } from './proxies.js';

export function checkTools(): void {
  for (const tool of ['wrk', 'haproxy', 'openssl']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is missing (Debian: apt-get install -y wrk haproxy openssl)`);
    }
  }
}

/** Edge/upstream certificate for 127.0.0.1, made now, never committed. */
export function makeCertificate(): void {
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
  writeFileSync(join(dir, 'edge.pem'), cert + key);
}

/** Issuer: ES256 key, JWKS for the gateway, SPKI PEM for HAProxy, one long-lived token. */
export async function startIssuer(): Promise<{ jwksServer: Server; jwksUrl: string; token: string }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  writeFileSync(join(dir, 'jwt-pub.pem'), await exportSPKI(publicKey));
  const jwks = JSON.stringify({
    keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' }],
  });
  const jwksServer = createServer((_q, r) =>
    r.writeHead(200, { 'content-type': 'application/json' }).end(jwks),
  );
  jwksServer.listen(0, '127.0.0.1');
  await once(jwksServer, 'listening');
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'bench-user',
    client_id: 'bench',
    jti: 'bench-1',
    scope: 'videos:read',
    iat: now,
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'bench' })
    .setExpirationTime('1h')
    .sign(privateKey);
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
  return { jwksServer, jwksUrl, token };
}

/** The gateway's routes: the same route HAProxy serves, limits high enough to refuse nothing. */
export function writeRoutes(bare: BareUpstream | undefined): void {
  writeFileSync(
    join(dir, 'routes.json'),
    JSON.stringify({
      // With the mesh, no URL: the gateway finds `videos` by discovery and calls it over mTLS.
      upstreams: bare ? { videos: `https://127.0.0.1:${bare.https}` } : {},
      throttle: {
        user: { points: 1_000_000_000, duration: 60 },
        policies: { op: { points: 1_000_000_000, duration: 60 } },
      },
      routes: [
        {
          method: 'GET',
          path: '/api/videos/:id',
          service: 'videos',
          upstreamPath: '/videos/:id',
          auth: 'required',
          scopes: ['videos:read'],
          throttle: 'op',
        },
      ],
    }),
  );
}
