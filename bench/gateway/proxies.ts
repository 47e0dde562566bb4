// The processes under test and their upstream: the bare Node upstream of `--upstream plain`,
// a Flotilla gateway (b) or (b0), and HAProxy (c) with its configuration. Each child is added
// to `children`, which run.ts ends when the benchmark is over.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AUDIENCE, children, dir, ISSUER, pinned } from './options.js';

/** The bare upstream's plain HTTP and TLS ports, and its process id. */
export interface BareUpstream {
  http: number;
  https: number;
  pid: number;
}

export interface Gateway {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export interface Haproxy {
  port: number;
  pid: number;
  stop(): void;
}

/** The bare Node upstream of `--upstream plain` (upstream.ts): its plain and TLS ports. */
export async function startBareUpstream(): Promise<BareUpstream> {
  const upstream = spawn(
    ...pinned('upstream', process.execPath, [
      '--import',
      'tsx',
      join(import.meta.dirname, 'upstream.ts'),
      join(dir, 'cert.pem'),
      join(dir, 'key.pem'),
    ]),
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(upstream);
  const [line] = (await once(createInterface({ input: upstream.stdout }), 'line')) as [string];
  return { ...(JSON.parse(line) as { http: number; https: number }), pid: upstream.pid! };
}

export async function startGateway(
  workers: number,
  jwksUrl: string,
  main: string,
  nodeFlags = process.env.GATEWAY_NODE_ARGS,
  meshEnv: Record<string, string> = {},
): Promise<Gateway> {
  // e.g. GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the gateway under load.
  const nodeArgs = (nodeFlags ?? '').split(' ').filter(Boolean);
  const gw = spawn(...pinned('proxy', process.execPath, [...nodeArgs, '--import', 'tsx', main]), {
    env: {
      PATH: process.env.PATH,
      // For a preload given in GATEWAY_NODE_ARGS, e.g. alloc-sampler.ts.
      ...(process.env.ALLOC_PROFILE_DIR ? { ALLOC_PROFILE_DIR: process.env.ALLOC_PROFILE_DIR } : {}),
      ...(process.env.ALLOC_SAMPLE_BYTES ? { ALLOC_SAMPLE_BYTES: process.env.ALLOC_SAMPLE_BYTES } : {}),
      ...(process.env.GC_OBSERVER_INTERVAL_S
        ? { GC_OBSERVER_INTERVAL_S: process.env.GC_OBSERVER_INTERVAL_S }
        : {}),
      GATEWAY_WORKERS: String(workers),
      GATEWAY_ROUTES_FILE: join(dir, 'routes.json'),
      TLS_CERT_FILE: join(dir, 'cert.pem'),
      TLS_KEY_FILE: join(dir, 'key.pem'),
      // The upstream's certificate is verified, as HAProxy's `verify required` does.
      NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem'),
      TLS_PORT: '0',
      PORT: '0',
      HOST: '127.0.0.1',
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_URL: jwksUrl,
      // One home per gateway process tree (two gateways run side by side with --compare-main).
      FLOTILLA_HOME: join(dir, `home-${workers}-${children.length}`),
      FLOTILLA_POLICY_DIR: join(import.meta.dirname, '../../policies'),
      LOG_LEVEL: 'warn',
      ...meshEnv,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(gw);
  const url = await new Promise<string>((resolve, reject) => {
    gw.once('exit', (code) => reject(new Error(`the gateway exited (${code}) before listening`)));
    // GATEWAY_STDOUT_FILE keeps what the gateway prints, e.g. with --trace-opt --trace-deopt.
    const keep = process.env.GATEWAY_STDOUT_FILE
      ? createWriteStream(`${process.env.GATEWAY_STDOUT_FILE}.${children.length}`)
      : undefined;
    createInterface({ input: gw.stdout }).on('line', (l) => {
      keep?.write(`${l}\n`);
      if (l.includes('"listening"')) resolve((JSON.parse(l) as { listening: string }).listening);
    });
  });
  return {
    url,
    pid: gw.pid!,
    stop: async () => {
      gw.kill('SIGTERM');
      if (gw.exitCode === null) await once(gw, 'exit');
    },
  };
}

export async function startHaproxy(threads: number, server: string): Promise<Haproxy> {
  const port = await freePort();
  writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(port, server, threads));
  const haproxy = spawn(...pinned('proxy', 'haproxy', ['-f', join(dir, 'haproxy.cfg')]), {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(haproxy);
  await new Promise((r) => setTimeout(r, 500));
  return { port, pid: haproxy.pid!, stop: () => void haproxy.kill() };
}

function haproxyConfig(port: number, server: string, threads: number): string {
  // HAProxy 2.6: jwt_verify takes the algorithm and a public key file (SPKI PEM) loaded at start.
  return `global
  maxconn 4000
  nbthread ${threads}
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
  # Any idle upstream connection serves any request, as the gateway's pools do (HAProxy's
  # default, safe, opens a new one for each client connection's first request).
  http-reuse always
  ${server}
`;
}

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  s.close();
  return port;
}
