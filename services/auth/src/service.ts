import {
  ConfigError,
  defineService,
  type Service,
  type ServiceApp,
  type ServiceContext,
} from '@flotilla/kit';
import type { Redis } from 'ioredis';
import type { JSONWebKeySet } from 'jose';
import type Provider from 'oidc-provider';
import { type ClientConfig, type ResourceConfig, readClientsFile, toClientMetadata } from './clients.js';
import { authConfigSchema } from './config.js';
import { Csrf } from './interactions/csrf.js';
import { registerInteractions } from './interactions/routes.js';
import { KeyStore, loadKek, Sealer } from './keys.js';
import { registerMfaRoutes } from './mfa/routes.js';
import { migrations } from './migrations.js';
import { AccessTokenVerifier } from './provider/access-tokens.js';
import { sweepExpired } from './provider/adapter.js';
import { createProvider } from './provider/create.js';
import { mountProvider } from './provider/mount.js';
import { LocalRevocationBus } from './revocation-events/local.js';
import type { RevocationBus } from './revocation-events/types.js';
import { registerRevocationStream } from './revocation-events/sse.js';
import { FanoutBus, Revocations } from './revocations.js';
import { LoginThrottle, TokenThrottle } from './throttle.js';
import { bootstrapUsers, readBootstrapUsersFile } from './users/bootstrap.js';
import { type Argon2Params, dummyHasher } from './users/password.js';
import { UserStore } from './users/store.js';
import { STYLESHEET, STYLESHEET_PATH } from './views/html.js';

type AuthContext = ServiceContext<(typeof authConfigSchema)['properties']>;

export interface AuthServiceOptions {
  /** Clients in code (tests, `startAuth`); otherwise `AUTH_CLIENTS_FILE`. */
  clients?: ClientConfig[];
  resources?: ResourceConfig[];
}

/** What tests and tools reach through {@link authInternals}. */
export interface AuthInternals {
  issuer(): string;
  users: UserStore;
  keys: KeyStore;
  revocations: Revocations;
  localBus: LocalRevocationBus;
  argon2: Argon2Params;
  /** Rebuilds the provider from the stored keys now (instead of at the next poll). */
  reloadKeys(): Promise<void>;
  /** Rotates the signing keys and reloads them. */
  rotateKeys(): Promise<{ active: string; next: string; retired: string[] }>;
  /** Longest lifetime of anything a key signed: how long a retired key stays published. */
  retainSeconds: number;
  provider(): Promise<Provider>;
}

const internals = new WeakMap<object, AuthInternals>();

/** The internals of a running auth service, by its context. */
export function authInternals(ctx: object): AuthInternals {
  const found = internals.get(ctx);
  if (!found) throw new Error('not an auth service context');
  return found;
}

function publicJwks(keys: { jwk: Record<string, unknown> }[]): JSONWebKeySet {
  return {
    keys: keys.map(({ jwk }) => {
      const { kty, crv, x, y, kid, alg, use } = jwk as Record<string, string>;
      return { kty, crv, x, y, kid, alg, use };
    }),
  };
}

async function setup(app: ServiceApp, ctx: AuthContext, opts: AuthServiceOptions): Promise<void> {
  const cfg = ctx.config;
  if (cfg.AUTH_DEV_INSECURE_HTTP && process.env.NODE_ENV === 'production') {
    throw new ConfigError('AUTH_DEV_INSECURE_HTTP', 'AUTH_DEV_INSECURE_HTTP must not be set in production');
  }
  if (ctx.identity && cfg.AUTH_ISSUER?.startsWith('http://')) {
    throw new ConfigError('AUTH_ISSUER', 'AUTH_ISSUER must be https:// when the service serves TLS itself');
  }
  // Files first: a bad one is a one-line ConfigError before anything is created.
  const file = cfg.AUTH_CLIENTS_FILE ? readClientsFile(cfg.AUTH_CLIENTS_FILE) : {};
  const bootstrap = cfg.AUTH_BOOTSTRAP_USERS_FILE
    ? readBootstrapUsersFile(cfg.AUTH_BOOTSTRAP_USERS_FILE)
    : [];
  const argon2: Argon2Params = {
    memoryCost: cfg.AUTH_ARGON2_MEMORY_KIB,
    timeCost: cfg.AUTH_ARGON2_TIME_COST,
    parallelism: cfg.AUTH_ARGON2_PARALLELISM,
  };
  const db = ctx.db;
  const users = new UserStore(db, argon2);
  const sealer = new Sealer(await loadKek(cfg.FLOTILLA_HOME, cfg.AUTH_KEYS_KEK));
  const keys = new KeyStore(db, sealer);
  await keys.ensure();
  const [cookieKey, csrfKey, ticketKey] = await Promise.all([
    keys.secret('cookie-key'),
    keys.secret('csrf-key'),
    keys.secret('mfa-ticket-key'),
  ]);

  const resourceList = opts.resources ?? file.resources ?? [];
  const clientList = opts.clients ?? file.clients ?? [];
  const resources = new Map(resourceList.map((r) => [r.indicator, r]));
  const clients = await toClientMetadata(clientList, resourceList, argon2);

  // The Redis client is loaded only with REDIS_URL (~2 MB a process otherwise).
  let redis: Redis | undefined;
  const localBus = new LocalRevocationBus(cfg.AUTH_REVOCATION_REPLAY_SECONDS);
  const buses: RevocationBus[] = [localBus];
  if (cfg.REDIS_URL) {
    const [{ Redis }, { RedisRevocationBus }] = await Promise.all([
      import('ioredis'),
      import('./revocation-events/redis.js'),
    ]);
    redis = new Redis(cfg.REDIS_URL, { maxRetriesPerRequest: 3 });
    buses.push(new RedisRevocationBus(cfg.REDIS_URL));
  }
  const bus = new FanoutBus(buses);
  const retainSeconds =
    Math.max(
      cfg.AUTH_ACCESS_TOKEN_TTL,
      cfg.AUTH_ID_TOKEN_TTL,
      ...resourceList.map((r) => r.accessTokenTTL ?? 0),
    ) + 60;
  const revocations = new Revocations(db, bus, retainSeconds);
  await revocations.start(1000);
  for (const c of clientList.filter((c) => c.disabled)) {
    if (!(await revocations.isRevoked({ clientId: c.client_id, iat: 0 }))) {
      await revocations.revoke({ type: 'client', clientId: c.client_id });
    }
  }

  const audit = (e: Parameters<AuthContext['audit']>[0]) => ctx.audit(e);
  await bootstrapUsers(users, bootstrap, audit, ctx.log);
  const verifier = new AccessTokenVerifier('');
  let issuer = cfg.AUTH_ISSUER?.replace(/\/$/, '');
  const issuerOf = () => {
    if (issuer) return issuer;
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('auth: issuer unknown before listening');
    const host = cfg.HOST === '0.0.0.0' || cfg.HOST === '::' ? '127.0.0.1' : cfg.HOST;
    // With a workload identity the kit serves HTTPS itself (no proxy in front).
    const scheme = ctx.identity ? 'https' : 'http';
    issuer = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    return issuer;
  };

  type State = { provider: Provider; callback: ReturnType<Provider['callback']>; version: string };
  let state: Promise<State> | undefined;
  const build = async (): Promise<State> => {
    const version = await keys.version();
    const stored = await keys.load();
    const iss = issuerOf();
    verifier.setKeys(iss, publicJwks(stored));
    const provider = createProvider({
      issuer: iss,
      trustProxy: cfg.AUTH_TRUST_PROXY,
      db,
      users,
      signingKeys: stored.map((k) => k.jwk),
      cookieKeys: [cookieKey],
      clients,
      resources,
      accessTokenTTL: cfg.AUTH_ACCESS_TOKEN_TTL,
      idTokenTTL: cfg.AUTH_ID_TOKEN_TTL,
      refreshTokenTTL: cfg.AUTH_REFRESH_TOKEN_TTL,
      insecureHttp: cfg.AUTH_DEV_INSECURE_HTTP,
      verifier,
      revocations,
      exchange: { resources, accessTokenTTL: cfg.AUTH_ACCESS_TOKEN_TTL },
      audit,
    });
    provider.on('server_error', (_c: unknown, err: Error) => ctx.log.error({ err }, 'oidc-provider error'));
    return { provider, callback: provider.callback(), version };
  };
  const getState = () => (state ??= build());
  const reloadKeys = async () => {
    const next = await build();
    state = Promise.resolve(next);
  };

  app.addHook('onListen', async () => {
    const iss = issuerOf();
    if (iss.startsWith('https://') && !ctx.identity && !cfg.AUTH_TRUST_PROXY) {
      ctx.log.warn(
        { issuer: iss },
        'issuer is HTTPS but this service serves plain HTTP: give it a workload identity (FLOTILLA_CONTROL_URL) or put it behind a TLS proxy with AUTH_TRUST_PROXY',
      );
    }
    if (iss.startsWith('http://') && !cfg.AUTH_DEV_INSECURE_HTTP && !cfg.AUTH_TRUST_PROXY) {
      ctx.log.warn(
        { issuer: iss },
        'issuer is plain HTTP while cookies are Secure: browser sign-in needs HTTPS (AUTH_TRUST_PROXY behind a TLS proxy, or AUTH_DEV_INSECURE_HTTP=true for local development)',
      );
    }
    await getState();
  });

  const keyPoll = setInterval(() => {
    void (async () => {
      if (!state) return;
      const current = await state;
      if ((await keys.version()) !== current.version) await reloadKeys();
    })().catch((err: unknown) => ctx.log.error({ err }, 'signing key reload failed'));
  }, cfg.AUTH_KEYS_POLL_MS);
  keyPoll.unref();
  const sweep = setInterval(() => {
    void sweepExpired(db).catch((err: unknown) => ctx.log.error({ err }, 'sweep failed'));
  }, cfg.AUTH_SWEEP_INTERVAL_MS);
  sweep.unref();
  ctx.onClose(async () => {
    clearInterval(keyPoll);
    clearInterval(sweep);
    revocations.stop();
    await bus.close();
    redis?.disconnect();
  });

  const throttleSettings = {
    loginMaxFailures: cfg.AUTH_LOGIN_MAX_FAILURES,
    lockoutSeconds: cfg.AUTH_LOGIN_LOCKOUT_SECONDS,
    ipMaxFailures: cfg.AUTH_LOGIN_IP_MAX_FAILURES,
    tokenPerClient: cfg.AUTH_TOKEN_RATE_PER_CLIENT,
    tokenPerIp: cfg.AUTH_TOKEN_RATE_PER_IP,
  };
  const logoutOrigins = [
    ...new Set(clientList.flatMap((c) => (c.post_logout_redirect_uris ?? []).map((u) => new URL(u).origin))),
  ];
  mountProvider(
    app,
    getState,
    new TokenThrottle(throttleSettings, redis),
    (clientId, ip) =>
      audit({
        actor: clientId ?? 'anonymous',
        action: 'token.throttled',
        outcome: 'denied',
        details: { ip },
      }),
    logoutOrigins,
  );
  registerInteractions(app, {
    getProvider: getState,
    users,
    sealer,
    csrf: new Csrf(csrfKey),
    ticketKey: Buffer.from(ticketKey, 'base64url'),
    throttle: new LoginThrottle(throttleSettings, redis),
    dummyHash: dummyHasher(argon2),
    audit,
  });
  registerMfaRoutes(app, { users, sealer, argon2, verifier, revocations, issuerName: 'Flotilla', audit });
  registerRevocationStream(app, localBus, { requirePeer: ctx.identity !== undefined });
  app.get(STYLESHEET_PATH, async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET),
  );

  internals.set(ctx, {
    issuer: issuerOf,
    users,
    keys,
    revocations,
    localBus,
    argon2,
    reloadKeys,
    rotateKeys: async () => {
      const result = await keys.rotate(retainSeconds);
      await reloadKeys();
      return result;
    },
    retainSeconds,
    provider: async () => (await getState()).provider,
  });
}

/** Defines the auth service; `clients`/`resources` in code replace `AUTH_CLIENTS_FILE`. */
export function createAuthService(
  opts: AuthServiceOptions = {},
): Service<(typeof authConfigSchema)['properties']> {
  return defineService({
    name: 'auth',
    config: authConfigSchema,
    migrations,
    routes: (app, ctx) => setup(app, ctx, opts),
  });
}

/** The auth service with clients from `AUTH_CLIENTS_FILE`. */
export const auth = createAuthService();
