import { ConfigError, parseYaml } from '@flotilla/kit';
import type { ClientMetadata } from 'oidc-provider';
import { octal, readWithMode } from './private-file.js';
import { TOKEN_EXCHANGE_GRANT } from './token-exchange.js';
import { type Argon2Params, hashSecret } from './users/password.js';

/** A resource server (RFC 8707 resource indicator) and the scopes it understands. */
export interface ResourceConfig {
  indicator: string;
  scopes: string[];
  /** Access-token lifetime for this audience; the service default otherwise. */
  accessTokenTTL?: number;
}

/**
 * A client. `spa`: public, authorization code + PKCE S256 only. `confidential`: has a
 * secret (`client_secret_basic` against an Argon2id hash) or `jwks` (`private_key_jwt`);
 * with `redirect_uris` it is a web back end (authorization code + refresh token), without
 * them it uses client credentials (or say so with `grant_types`). `service`: client
 * credentials only.
 */
export interface ClientConfig {
  client_id: string;
  type: 'spa' | 'confidential' | 'service';
  client_name?: string;
  redirect_uris?: string[];
  post_logout_redirect_uris?: string[];
  /** Argon2id PHC string of the secret (`flotilla auth hash-secret`). */
  client_secret_hash?: string;
  /**
   * The secret in plaintext: hashed at start, never stored. In a file only when the file
   * is readable by its owner alone (0600); prefer `client_secret_hash`.
   */
  client_secret?: string;
  /** Public keys for `private_key_jwt` (RFC 7523). */
  jwks?: { keys: Record<string, unknown>[] };
  /** Resource indicators the client may ask tokens for; the first is its default. */
  resources?: string[];
  /** One resource indicator: the same as `resources: [audience]`. */
  audience?: string;
  /**
   * Scopes the client may ask for (resource scopes and OIDC scopes); default: all of its
   * resources' scopes and the OIDC ones. Clients that sign users in may always ask for
   * `openid`, `profile` and `roles` (the user's own identity claims).
   */
  scopes?: string[];
  /** The same as `scopes`, space-separated (RFC 7591 `scope`). */
  scope?: string;
  /** Confidential clients only: any of authorization_code, refresh_token, client_credentials. */
  grant_types?: string[];
  /** Audiences (resource indicators) this client may exchange tokens for (RFC 8693). */
  token_exchange?: string[];
  disabled?: boolean;
}

export interface ClientsFile {
  resources?: ResourceConfig[];
  clients?: ClientConfig[];
}

const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'roles'];
/** What a client that signs users in may always ask for: the user's own identity claims. */
const USER_SCOPES = ['openid', 'profile', 'roles'];
const ID = /^[a-zA-Z0-9._-]{1,128}$/;
const CLIENT_FIELDS = new Set([
  'client_id',
  'type',
  'client_name',
  'redirect_uris',
  'post_logout_redirect_uris',
  'client_secret_hash',
  'client_secret',
  'jwks',
  'resources',
  'audience',
  'scopes',
  'scope',
  'grant_types',
  'token_exchange',
  'disabled',
]);
const RESOURCE_FIELDS = new Set(['indicator', 'scopes', 'accessTokenTTL']);
const CONFIDENTIAL_GRANTS = new Set(['authorization_code', 'refresh_token', 'client_credentials']);

/**
 * Reads the clients file (JSON, or YAML unless it ends in `.json`). Unknown fields are
 * refused (a typo must not silently drop a restriction). A plaintext `client_secret` is
 * accepted only from a file readable by its owner alone (mode 0600).
 */
export function readClientsFile(path: string): ClientsFile {
  const { text, private: ownerOnly, mode } = readWithMode(path, 'AUTH_CLIENTS_FILE');
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch {
    // Not the parser's message: it may quote the text, and the text may hold secrets.
    throw new ConfigError('AUTH_CLIENTS_FILE', `AUTH_CLIENTS_FILE: ${path} is not valid JSON or YAML`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError('AUTH_CLIENTS_FILE', `AUTH_CLIENTS_FILE: ${path} must hold { clients, resources }`);
  }
  const file = data as Record<string, unknown>;
  const bad = (message: string): never => {
    throw new ConfigError('AUTH_CLIENTS_FILE', `AUTH_CLIENTS_FILE: ${path}: ${message}`);
  };
  for (const key of Object.keys(file)) {
    if (key !== 'clients' && key !== 'resources') bad(`unknown field "${key}"`);
  }
  if (file.clients !== undefined && !Array.isArray(file.clients)) bad('clients must be a list');
  if (file.resources !== undefined && !Array.isArray(file.resources)) bad('resources must be a list');
  for (const [i, r] of ((file.resources ?? []) as unknown[]).entries()) {
    if (!r || typeof r !== 'object') bad(`resources[${i}] must be an object`);
    const unknown = Object.keys(r as object).filter((k) => !RESOURCE_FIELDS.has(k));
    if (unknown.length) bad(`resources[${i}]: unknown field ${unknown.join(', ')}`);
  }
  for (const [i, c] of ((file.clients ?? []) as unknown[]).entries()) {
    if (!c || typeof c !== 'object') bad(`clients[${i}] must be an object`);
    const client = c as Record<string, unknown>;
    const name = typeof client.client_id === 'string' ? client.client_id : `clients[${i}]`;
    const unknown = Object.keys(client).filter((k) => !CLIENT_FIELDS.has(k));
    if (unknown.length) bad(`client ${name}: unknown field ${unknown.join(', ')}`);
    if (client.client_secret !== undefined && !ownerOnly) {
      bad(
        `client ${name} has a plaintext client_secret but the file has mode ${octal(mode)}; make it 0600 (chmod 600 ${path}) or store client_secret_hash`,
      );
    }
  }
  return file;
}

function fail(message: string): never {
  throw new ConfigError('AUTH_CLIENTS_FILE', `clients: ${message}`);
}

/** Validates the client list and turns it into oidc-provider client metadata. */
export async function toClientMetadata(
  clients: readonly ClientConfig[],
  resources: readonly ResourceConfig[],
  argon2: Argon2Params,
): Promise<ClientMetadata[]> {
  const indicators = new Set(resources.map((r) => r.indicator));
  const seen = new Set<string>();
  const out: ClientMetadata[] = [];
  for (const c of clients) {
    if (!ID.test(c.client_id ?? '')) fail(`invalid client_id "${c.client_id}"`);
    if (seen.has(c.client_id)) fail(`duplicate client_id "${c.client_id}"`);
    seen.add(c.client_id);
    const own = clientResources(c);
    for (const r of [...own, ...(c.token_exchange ?? [])]) {
      if (!indicators.has(r)) fail(`client ${c.client_id}: unknown resource "${r}"`);
    }
    if (c.disabled) continue;
    const exchange = c.token_exchange?.length ? [TOKEN_EXCHANGE_GRANT] : [];
    const resourceScopes = resources
      .filter((r) => own.includes(r.indicator) || c.token_exchange?.includes(r.indicator))
      .flatMap((r) => r.scopes);
    const explicit = clientScopes(c);
    const grants = clientGrants(c);
    const signsInUsers = grants.includes('authorization_code');
    const scope = [
      ...new Set([
        ...(explicit ?? [...OIDC_SCOPES, ...resourceScopes]),
        ...(signsInUsers ? USER_SCOPES : []),
      ]),
    ].join(' ');
    const common = {
      client_id: c.client_id,
      client_name: c.client_name ?? c.client_id,
      scope,
      flotilla_resources: own,
      flotilla_token_exchange: c.token_exchange ?? [],
    };
    if (signsInUsers && !c.redirect_uris?.length) fail(`client ${c.client_id}: needs redirect_uris`);
    if (!signsInUsers && (c.redirect_uris?.length || c.post_logout_redirect_uris?.length)) {
      fail(`client ${c.client_id}: redirect URIs are for clients that sign users in`);
    }
    switch (c.type) {
      case 'spa':
        if (c.client_secret || c.client_secret_hash || c.jwks)
          fail(`client ${c.client_id}: a spa has no secret`);
        out.push({
          ...common,
          token_endpoint_auth_method: 'none',
          grant_types: grants,
          response_types: ['code'],
          redirect_uris: c.redirect_uris,
          post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
        });
        break;
      case 'confidential':
      case 'service': {
        out.push({
          ...common,
          ...(await clientAuth(c, argon2)),
          grant_types: [...grants, ...exchange],
          response_types: signsInUsers ? ['code'] : [],
          redirect_uris: signsInUsers ? c.redirect_uris : [],
          post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
        });
        break;
      }
      default:
        fail(`client ${c.client_id}: type must be spa, confidential or service`);
    }
  }
  return out;
}

/** `resources`, or `audience` as a one-element list. */
function clientResources(c: ClientConfig): string[] {
  if (c.audience !== undefined && c.resources !== undefined && !c.resources.includes(c.audience)) {
    fail(`client ${c.client_id}: audience "${c.audience}" is not among its resources`);
  }
  if (c.resources !== undefined) return c.resources;
  return c.audience !== undefined ? [c.audience] : [];
}

/** `scopes`, or `scope` split; undefined when neither is given. */
function clientScopes(c: ClientConfig): string[] | undefined {
  if (c.scopes !== undefined && c.scope !== undefined)
    fail(`client ${c.client_id}: give scopes or scope, not both`);
  if (c.scopes !== undefined) {
    if (!Array.isArray(c.scopes) || c.scopes.some((x) => typeof x !== 'string'))
      fail(`client ${c.client_id}: scopes must be a list of strings`);
    return c.scopes;
  }
  if (c.scope !== undefined) {
    if (typeof c.scope !== 'string') fail(`client ${c.client_id}: scope must be a space-separated string`);
    return c.scope.split(' ').filter(Boolean);
  }
  return undefined;
}

/** The grant types of a client (token exchange aside). */
function clientGrants(c: ClientConfig): string[] {
  switch (c.type) {
    case 'spa':
    case 'service':
      if (c.grant_types !== undefined) fail(`client ${c.client_id}: grant_types is for confidential clients`);
      return c.type === 'spa' ? ['authorization_code', 'refresh_token'] : ['client_credentials'];
    case 'confidential': {
      if (c.grant_types === undefined) {
        return c.redirect_uris?.length ? ['authorization_code', 'refresh_token'] : ['client_credentials'];
      }
      const badGrant = c.grant_types.find((g) => !CONFIDENTIAL_GRANTS.has(g));
      if (badGrant !== undefined || !c.grant_types.length) {
        fail(`client ${c.client_id}: grant_types must be some of ${[...CONFIDENTIAL_GRANTS].join(', ')}`);
      }
      if (c.grant_types.includes('refresh_token') && !c.grant_types.includes('authorization_code')) {
        fail(`client ${c.client_id}: refresh_token needs authorization_code`);
      }
      return [...new Set(c.grant_types)];
    }
    default:
      return fail(`client ${c.client_id}: type must be spa, confidential or service`);
  }
}

async function clientAuth(c: ClientConfig, argon2: Argon2Params): Promise<Partial<ClientMetadata>> {
  if (c.jwks) {
    return { token_endpoint_auth_method: 'private_key_jwt', jwks: c.jwks };
  }
  if (c.client_secret !== undefined && c.client_secret_hash !== undefined) {
    fail(`client ${c.client_id}: give client_secret or client_secret_hash, not both`);
  }
  const hashed =
    c.client_secret_hash ?? (c.client_secret ? await hashSecret(c.client_secret, argon2) : undefined);
  if (!hashed?.startsWith('$argon2id$')) {
    fail(`client ${c.client_id}: needs client_secret_hash (argon2id) or jwks`);
  }
  // oidc-provider holds the hash where it would hold the secret; compareClientSecret is
  // replaced to verify against it (see provider/client-secrets.ts).
  return { token_endpoint_auth_method: 'client_secret_basic', client_secret: hashed };
}
