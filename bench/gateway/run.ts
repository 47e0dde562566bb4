// Gateway benchmark: (a) the upstream directly over plain HTTP, (b) the Flotilla gateway
// (TLS + JWT + policy + rate limit + TLS upstream), (c) HAProxy 2.6 (TLS + jwt_verify +
// stick-table rate limit + TLS upstream). Prints req/s, p50, p99 and the ratio (b)/(c).
//
//   npx tsx bench/gateway/run.ts [--duration 10] [--connections 32] [--threads 1]
//
// Needs `wrk` and `haproxy` (Debian: apt-get install -y wrk haproxy) and `openssl`.
// Everything runs on 127.0.0.1 in one go; keys and certificates live in a temp dir
// that is removed at the end.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { startGateway, UndiciUpstream } from '@flotilla/gateway';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const DURATION = arg('duration', 10);
const CONNECTIONS = arg('connections', 32);
const THREADS = arg('threads', 1);
const ISSUER = 'https://auth.bench';
const AUDIENCE = 'https://api.bench';

interface Result {
  name: string;
  rps: number;
  p50: string;
  p99: string;
  non2xx: number;
}

// wrk runs asynchronously: the gateway under test shares this process's event loop.
const run = promisify(execFile);
const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-gw-'));

async function main(): Promise<void> {
  for (const tool of ['wrk', 'haproxy', 'openssl']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is missing (Debian: apt-get install -y wrk haproxy openssl)`);
    }
  }
  // Edge/upstream certificate for 127.0.0.1, made now, never committed.
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

  // Issuer: ES256 key, JWKS for the gateway, SPKI PEM for HAProxy, one long-lived token.
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

  const upstream = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, 'upstream.ts'),
      join(dir, 'cert.pem'),
      join(dir, 'key.pem'),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(upstream);
  const [line] = (await once(createInterface({ input: upstream.stdout }), 'line')) as [string];
  const ports = JSON.parse(line) as { http: number; https: number };

  const gw = await startGateway({
    tls: { cert, key },
    upstream: new UndiciUpstream({
      services: { videos: `https://127.0.0.1:${ports.https}` },
      timeoutMs: 10_000,
      ca: cert,
    }),
    routes: {
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
    },
    env: {
      FLOTILLA_HOME: join(dir, 'home'),
      LOG_LEVEL: 'warn',
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_URL: `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`,
      TLS_PORT: '0',
    },
  });

  const haproxyPort = await freePort();
  writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(haproxyPort, ports.https));
  const haproxy = spawn('haproxy', ['-f', join(dir, 'haproxy.cfg')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(haproxy);
  await new Promise((r) => setTimeout(r, 500));

  const auth = `Authorization: Bearer ${token}`;
  // Warm up each target (JWKS fetch, TLS sessions, JIT), then measure.
  const targets = [
    {
      name: '(a) upstream direct, plain HTTP',
      url: `http://127.0.0.1:${ports.http}/videos/42`,
      headers: [] as string[],
    },
    {
      name: '(b) flotilla gateway, TLS+JWT+policy+ratelimit+TLS upstream',
      url: `${gw.url}/api/videos/42`,
      headers: [auth],
    },
    {
      name: '(c) haproxy 2.6, TLS+jwt_verify+stick-table+TLS upstream',
      url: `https://127.0.0.1:${haproxyPort}/api/videos/42`,
      headers: [auth],
    },
  ];
  for (const t of targets) {
    const check = await wrk(t.url, t.headers, 1, 1);
    if (check.non2xx > 0 || check.rps === 0) {
      const { stdout: probe } = await run('curl', [
        '-sk',
        '-i',
        ...t.headers.flatMap((h) => ['-H', h]),
        t.url,
      ]);
      throw new Error(`${t.name}: the warm-up got errors; check the setup\n${probe.slice(0, 600)}`);
    }
  }
  const results: Result[] = [];
  for (const t of targets) {
    await wrk(t.url, t.headers, 2, CONNECTIONS);
    results.push({ ...(await wrk(t.url, t.headers, DURATION, CONNECTIONS)), name: t.name });
  }

  console.log(
    `\nwrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}s --latency, small JSON response, ${process.env.HOSTNAME ?? 'this machine'}`,
  );
  console.log(
    `${'target'.padEnd(64)} ${'req/s'.padStart(10)} ${'p50'.padStart(10)} ${'p99'.padStart(10)}  non-2xx`,
  );
  for (const r of results)
    console.log(
      `${r.name.padEnd(64)} ${r.rps.toFixed(0).padStart(10)} ${r.p50.padStart(10)} ${r.p99.padStart(10)}  ${r.non2xx}`,
    );
  const [, b, c] = results as [Result, Result, Result];
  console.log(`\nthroughput ratio (b)/(c) = ${(b.rps / c.rps).toFixed(2)}`);

  await gw.stop();
  jwksServer.close();
}

function haproxyConfig(port: number, upstreamPort: number): string {
  // HAProxy 2.6: jwt_verify takes the algorithm and a public key file (SPKI PEM) loaded at start.
  return `global
  maxconn 4000
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend edge
  bind 127.0.0.1:${port} ssl crt ${join(dir, 'edge.pem')}
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('$.alg')
  http-request deny status 401 unless { var(txn.alg) -m str ES256 }
  http-request deny status 401 unless { var(txn.bearer),jwt_verify(txn.alg,"${join(dir, 'jwt-pub.pem')}") -m int 1 }
  http-request deny status 401 unless { var(txn.bearer),jwt_payload_query('$.iss') -m str ${ISSUER} }
  http-request deny status 401 unless { var(txn.bearer),jwt_payload_query('$.aud') -m str ${AUDIENCE} }
  http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('$.exp','int')
  http-request set-var(txn.now) date
  http-request deny status 401 unless { var(txn.exp),sub(txn.now) -m int gt 0 }
  stick-table type string len 64 size 100k expire 60s store http_req_rate(60s)
  http-request track-sc0 var(txn.bearer),jwt_payload_query('$.sub')
  http-request deny status 429 if { sc_http_req_rate(0) gt 1000000000 }
  http-request set-path /videos/42
  default_backend upstream
backend upstream
  server up 127.0.0.1:${upstreamPort} ssl verify required ca-file ${join(dir, 'cert.pem')} sni str(localhost) pool-max-conn 512
`;
}

async function wrk(
  url: string,
  headers: string[],
  seconds: number,
  connections: number,
): Promise<Omit<Result, 'name'>> {
  const args = [
    `-t${Math.min(THREADS, connections)}`,
    `-c${connections}`,
    `-d${seconds}s`,
    '--latency',
    ...headers.flatMap((h) => ['-H', h]),
    url,
  ];
  const { stdout: out } = await run('wrk', args);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const p50 = /\s50%\s+(\S+)/.exec(out)?.[1] ?? '?';
  const p99 = /\s99%\s+(\S+)/.exec(out)?.[1] ?? '?';
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return { rps, p50, p99, non2xx };
}

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  s.close();
  return port;
}

main()
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) c.kill();
    rmSync(dir, { recursive: true, force: true });
  });
