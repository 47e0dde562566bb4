// One gateway on real sockets for the end-to-end tests: a TLS edge in front of an echoing
// upstream, JWTs from a local issuer, revocations on an in-memory bus, logs kept in memory.
import { InProcessRevocations } from '@flotilla/kit/contracts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningGateway, startGateway } from '../src/index.js';
import type { RouteDecider } from '../src/policy/route-decider.js';
import type { GatewayRoutesConfig } from '../src/routes/route-schema.js';
import {
  AUDIENCE,
  client,
  ISSUER,
  listen,
  logSink,
  startIssuer,
  startUpstream,
  testCertificate,
} from './harness.js';

const cors = {
  origins: ['https://app.example'],
  methods: ['GET' as const, 'POST' as const],
  headers: ['authorization', 'content-type'],
  credentials: true,
  maxAge: 600,
};

// Policy stand-in: only admins may perform `admin`; everything else needs its scopes.
const policy: RouteDecider = {
  decide: ({ action, principal, context }) =>
    action === 'admin' && !principal?.roles.includes('admin')
      ? { decision: 'deny', reasons: ['admin role required'] }
      : context.requiredScopes.every((s) => context.scopes.includes(s))
        ? { decision: 'allow', reasons: [] }
        : { decision: 'deny', reasons: ['scope'] },
};

export interface E2eGateway {
  gw: RunningGateway;
  http: ReturnType<typeof client>;
  issuer: Awaited<ReturnType<typeof startIssuer>>;
  upstream: Awaited<ReturnType<typeof startUpstream>>;
  bus: InProcessRevocations;
  logs: ReturnType<typeof logSink>;
  /** FLOTILLA_HOME: the audit trail is under `audit/`. */
  home: string;
  /** A request to the edge, its body read. */
  get(
    path: string,
    headers?: Record<string, string>,
    method?: string,
    body?: string,
  ): ReturnType<ReturnType<typeof client>['call']>;
  close(): Promise<void>;
}

/**
 * Starts the gateway the end-to-end tests share: routes for videos (scopes, CORS), an admin
 * action, a tight per-operation limit, the token endpoint's limit by IP, a slow, a broken
 * and a dead upstream, and a public rest path.
 */
export async function startE2eGateway(): Promise<E2eGateway> {
  const bus = new InProcessRevocations();
  const logs = logSink();
  const home = mkdtempSync(join(tmpdir(), 'gw-home-'));
  const issuer = await startIssuer();
  const upstream = await startUpstream();
  const tls = testCertificate();
  const dead = await listen(() => undefined);
  const deadPort = dead.port;
  await dead.close();
  const routes = e2eRoutes(upstream.url, deadPort);
  const gw = await startGateway({
    routes,
    policy,
    revocations: bus.subscriber(),
    tls: { cert: tls.cert, key: tls.key },
    logStream: logs.stream,
    env: {
      FLOTILLA_HOME: home,
      LOG_LEVEL: 'info',
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_URL: issuer.jwksUrl,
      BODY_LIMIT: '1024',
      UPSTREAM_TIMEOUT_MS: '400',
      TLS_PORT: '0',
      HTTP_REDIRECT_PORT: '0',
      MAX_HEADER_BYTES: '4096',
    },
  });
  const http = client(tls.cert);
  return {
    gw,
    http,
    issuer,
    upstream,
    bus,
    logs,
    home,
    get: (path, headers = {}, method = 'GET', body) =>
      http.call(`${gw.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) }),
    async close() {
      await gw.stop();
      await http.agent.close();
      await Promise.all([issuer.close(), upstream.close()]);
      tls.cleanup();
    },
  };
}

/** Routes for videos (scopes, CORS), an admin action, limits, failing upstreams and a public rest path. */
function e2eRoutes(upstreamUrl: string, deadPort: number): GatewayRoutesConfig {
  return {
    upstreams: { videos: upstreamUrl, auth: upstreamUrl, down: `http://127.0.0.1:${deadPort}` },
    throttle: {
      policies: {
        tight: { points: 2, duration: 60 },
        'auth-endpoint': { points: 3, duration: 60, key: 'ip' },
      },
      user: { points: 1000, duration: 60 },
    },
    routes: [
      {
        method: 'GET',
        path: '/api/videos/:id',
        service: 'videos',
        upstreamPath: '/videos/:id',
        auth: 'required',
        scopes: ['videos:read'],
        cors,
      },
      {
        method: 'POST',
        path: '/api/videos',
        service: 'videos',
        upstreamPath: '/videos',
        auth: 'required',
        scopes: ['videos:write'],
        cors,
      },
      {
        method: 'GET',
        path: '/api/admin',
        service: 'videos',
        upstreamPath: '/admin',
        auth: 'required',
        action: 'admin',
      },
      {
        method: 'GET',
        path: '/api/limited',
        service: 'videos',
        upstreamPath: '/limited',
        auth: 'required',
        throttle: 'tight',
      },
      {
        method: 'POST',
        path: '/oauth/token',
        service: 'auth',
        upstreamPath: '/token',
        auth: 'public',
        throttle: 'auth-endpoint',
      },
      { method: 'GET', path: '/api/slow', service: 'videos', upstreamPath: '/slow', auth: 'required' },
      { method: 'GET', path: '/api/broken', service: 'videos', upstreamPath: '/broken', auth: 'required' },
      { method: 'GET', path: '/api/down', service: 'down', upstreamPath: '/x', auth: 'required' },
      { method: 'GET', path: '/public/*', service: 'videos', upstreamPath: '/pub/*', auth: 'public' },
    ],
  };
}
