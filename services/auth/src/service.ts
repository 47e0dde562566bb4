import {
  ConfigError,
  FlotillaError,
  defineService,
  type Service,
  type ServiceApp,
  type ServiceContext,
} from '@flotilla/kit';
import { type InProcessRevocations, serveRevocationEvents } from '@flotilla/kit/contracts';
import type Provider from 'oidc-provider';
import { registerAdminApi } from './admin/routes.js';
import { type ClientConfig, type ResourceConfig, readClientsFile, toClientMetadata } from './clients.js';
import { authConfigSchema } from './config.js';
import { Csrf } from './interactions/csrf.js';
import { registerInteractions } from './interactions/routes.js';
import { issuerResolver, warnAboutIssuer } from './issuer.js';
import { KeyStore, loadKek, Sealer } from './keys.js';
import { registerMfaRoutes } from './mfa/routes.js';
import { migrations } from './migrations.js';
import { AccessTokenVerifier } from './provider/access-tokens.js';
import { sweepExpired } from './provider/adapter.js';
import { mountProvider } from './provider/mount.js';
import { ProviderState } from './provider/state.js';
import { type AuthRedis, openRedis } from './redis.js';
import { openRevocations } from './revocations/open.js';
import type { Revocations } from './revocations/store.js';
import { LoginThrottle, type ThrottleSettings, TokenThrottle } from './throttle.js';
import { type BootstrapUser, bootstrapUsers, readBootstrapUsersFile } from './users/bootstrap.js';
import { type Argon2Params, dummyHasher } from './users/password.js';
import { UserStore } from './users/store.js';
import { STYLESHEET, STYLESHEET_PATH } from './views/html.js';

type AuthContext = ServiceContext<(typeof authConfigSchema)['properties']>;
type Audit = AuthContext['audit'];

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
  /** The in-process revocation transport behind the SSE stream. */
  events: InProcessRevocations;
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
  if (!found) throw new FlotillaError('FLT_INTERNAL', 'not an auth service context');
  return found;
}

/** Refuses settings that do not fit together, before anything is created. */
function checkSettings(ctx: AuthContext): void {
  const cfg = ctx.config;
  if (cfg.AUTH_DEV_INSECURE_HTTP && process.env.NODE_ENV === 'production') {
    throw new ConfigError('AUTH_DEV_INSECURE_HTTP', 'AUTH_DEV_INSECURE_HTTP must not be set in production');
  }
  if (ctx.identity && cfg.AUTH_ISSUER?.startsWith('http://')) {
    throw new ConfigError('AUTH_ISSUER', 'AUTH_ISSUER must be https:// when the service serves TLS itself');
  }
}

/** Clients, resources and bootstrap users: from code, or from their files (a bad file is one ConfigError). */
function readInputs(cfg: AuthContext['config'], opts: AuthServiceOptions) {
  const file = cfg.AUTH_CLIENTS_FILE ? readClientsFile(cfg.AUTH_CLIENTS_FILE) : {};
  const bootstrap: BootstrapUser[] = cfg.AUTH_BOOTSTRAP_USERS_FILE
    ? readBootstrapUsersFile(cfg.AUTH_BOOTSTRAP_USERS_FILE)
    : [];
  return {
    resources: opts.resources ?? file.resources ?? [],
    clients: opts.clients ?? file.clients ?? [],
    bootstrap,
  };
}

/** The service's stores and its sealed secrets (created at first start). */
async function openStores(ctx: AuthContext) {
  const cfg = ctx.config;
  const argon2: Argon2Params = {
    memoryCost: cfg.AUTH_ARGON2_MEMORY_KIB,
    timeCost: cfg.AUTH_ARGON2_TIME_COST,
    parallelism: cfg.AUTH_ARGON2_PARALLELISM,
  };
  const sealer = new Sealer(await loadKek(cfg.FLOTILLA_HOME, cfg.AUTH_KEYS_KEK));
  const keys = new KeyStore(ctx.db, sealer);
  await keys.ensure();
  const [cookieKey, csrfKey, ticketKey] = await Promise.all([
    keys.secret('cookie-key'),
    keys.secret('csrf-key'),
    keys.secret('mfa-ticket-key'),
  ]);
  return {
    argon2,
    sealer,
    keys,
    users: new UserStore(ctx.db, argon2),
    secrets: { cookieKey, csrfKey, ticketKey },
  };
}

/** Reloads the signing keys when another process rotated them, and sweeps expired provider rows. */
function startMaintenance(ctx: AuthContext, state: ProviderState): void {
  const keyPoll = setInterval(() => {
    state.reloadIfChanged().catch((err: unknown) => ctx.log.error({ err }, 'signing key reload failed'));
  }, ctx.config.AUTH_KEYS_POLL_MS);
  keyPoll.unref();
  const sweep = setInterval(() => {
    sweepExpired(ctx.db).catch((err: unknown) => ctx.log.error({ err }, 'sweep failed'));
  }, ctx.config.AUTH_SWEEP_INTERVAL_MS);
  sweep.unref();
  ctx.onClose(() => {
    clearInterval(keyPoll);
    clearInterval(sweep);
  });
}

function throttleSettings(cfg: AuthContext['config']): ThrottleSettings {
  return {
    loginMaxFailures: cfg.AUTH_LOGIN_MAX_FAILURES,
    lockoutSeconds: cfg.AUTH_LOGIN_LOCKOUT_SECONDS,
    ipMaxFailures: cfg.AUTH_LOGIN_IP_MAX_FAILURES,
    tokenPerClient: cfg.AUTH_TOKEN_RATE_PER_CLIENT,
    tokenPerIp: cfg.AUTH_TOKEN_RATE_PER_IP,
  };
}

interface Parts {
  stores: Awaited<ReturnType<typeof openStores>>;
  state: ProviderState;
  verifier: AccessTokenVerifier;
  revocations: Revocations;
  events: InProcessRevocations;
  redis: AuthRedis | undefined;
  clients: ClientConfig[];
  retainSeconds: number;
  rotateKeys: AuthInternals['rotateKeys'];
  audit: Audit;
}

/** Every route of the service: the provider's, sign-in, MFA, revocation events, the admin API. */
function registerRoutes(app: ServiceApp, ctx: AuthContext, p: Parts): void {
  const { stores, state, audit } = p;
  const settings = throttleSettings(ctx.config);
  const logoutOrigins = [
    ...new Set(p.clients.flatMap((c) => (c.post_logout_redirect_uris ?? []).map((u) => new URL(u).origin))),
  ];
  const onThrottled = (clientId: string | undefined, ip: string) =>
    audit({ actor: clientId ?? 'anonymous', action: 'token.throttled', outcome: 'denied', details: { ip } });
  mountProvider(app, () => state.get(), new TokenThrottle(settings, p.redis), onThrottled, logoutOrigins);
  registerInteractions(app, {
    getProvider: () => state.get(),
    users: stores.users,
    sealer: stores.sealer,
    csrf: new Csrf(stores.secrets.csrfKey),
    ticketKey: Buffer.from(stores.secrets.ticketKey, 'base64url'),
    throttle: new LoginThrottle(settings, p.redis),
    dummyHash: dummyHasher(stores.argon2),
    audit,
  });
  registerMfaRoutes(app, {
    users: stores.users,
    sealer: stores.sealer,
    argon2: stores.argon2,
    verifier: p.verifier,
    revocations: p.revocations,
    issuerName: 'Flotilla',
    audit,
  });
  serveRevocationEvents(app, p.events, { requirePeer: ctx.identity !== undefined });
  registerAdminApi(app, {
    users: stores.users,
    keys: stores.keys,
    revocations: p.revocations,
    rotateKeys: p.rotateKeys,
    retainSeconds: p.retainSeconds,
    audit,
  });
  app.get(STYLESHEET_PATH, async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET),
  );
}

/** The provider, rebuilt from the stored keys whenever they change. */
function providerState(
  ctx: AuthContext,
  o: {
    stores: Awaited<ReturnType<typeof openStores>>;
    issuer: () => string;
    verifier: AccessTokenVerifier;
    clients: Awaited<ReturnType<typeof toClientMetadata>>;
    resources: Map<string, ResourceConfig>;
    revocations: Revocations;
    audit: Audit;
  },
): ProviderState {
  const cfg = ctx.config;
  return new ProviderState({
    keys: o.stores.keys,
    issuer: o.issuer,
    verifier: o.verifier,
    onServerError: (err) => ctx.log.error({ err }, 'oidc-provider error'),
    settings: {
      trustProxy: cfg.AUTH_TRUST_PROXY,
      db: ctx.db,
      users: o.stores.users,
      cookieKeys: [o.stores.secrets.cookieKey],
      clients: o.clients,
      resources: o.resources,
      accessTokenTTL: cfg.AUTH_ACCESS_TOKEN_TTL,
      idTokenTTL: cfg.AUTH_ID_TOKEN_TTL,
      refreshTokenTTL: cfg.AUTH_REFRESH_TOKEN_TTL,
      insecureHttp: cfg.AUTH_DEV_INSECURE_HTTP,
      revocations: o.revocations,
      exchange: { resources: o.resources, accessTokenTTL: cfg.AUTH_ACCESS_TOKEN_TTL },
      audit: o.audit,
    },
  });
}

/** The auth service: stores, revocations, the provider (rebuilt on key change), its routes. */
async function setup(app: ServiceApp, ctx: AuthContext, opts: AuthServiceOptions): Promise<void> {
  const cfg = ctx.config;
  checkSettings(ctx);
  const inputs = readInputs(cfg, opts);
  const stores = await openStores(ctx);
  const resources = new Map(inputs.resources.map((r) => [r.indicator, r]));
  const clients = await toClientMetadata(inputs.clients, inputs.resources, stores.argon2);
  const redis = await openRedis(cfg.REDIS_URL, ctx);
  const ttls = [
    cfg.AUTH_ACCESS_TOKEN_TTL,
    cfg.AUTH_ID_TOKEN_TTL,
    ...inputs.resources.map((r) => r.accessTokenTTL ?? 0),
  ];
  const retainSeconds = Math.max(...ttls) + 60;
  const { events, revocations } = await openRevocations(ctx, {
    db: ctx.db,
    replaySeconds: cfg.AUTH_REVOCATION_REPLAY_SECONDS,
    redisUrl: cfg.REDIS_URL,
    keepSeconds: retainSeconds,
    clients: inputs.clients,
  });
  const audit: Audit = (e) => ctx.audit(e);
  await bootstrapUsers(stores.users, inputs.bootstrap, audit, ctx.log);

  const issuer = issuerResolver(app, ctx);
  // Our own tokens are checked with the access-token contract, for any of our resources.
  const verifier = new AccessTokenVerifier([...resources.keys()]);
  const state = providerState(ctx, { stores, issuer, verifier, clients, resources, revocations, audit });
  app.addHook('onListen', async () => {
    warnAboutIssuer(ctx, issuer());
    await state.get();
  });
  startMaintenance(ctx, state);

  const rotateKeys = async () => {
    const result = await stores.keys.rotate(retainSeconds);
    await state.reload();
    return result;
  };
  registerRoutes(app, ctx, {
    stores,
    state,
    verifier,
    revocations,
    events,
    redis,
    clients: inputs.clients,
    retainSeconds,
    rotateKeys,
    audit,
  });
  internals.set(ctx, {
    issuer,
    users: stores.users,
    keys: stores.keys,
    revocations,
    events,
    argon2: stores.argon2,
    reloadKeys: () => state.reload(),
    rotateKeys,
    retainSeconds,
    provider: async () => (await state.get()).provider,
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
