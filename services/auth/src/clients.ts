import { readFileSync } from 'node:fs';
import { ConfigError } from '@flotilla/kit';
import type { ClientMetadata } from 'oidc-provider';
import { parse as parseYaml } from 'yaml';
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
 * A client. `spa`: public, authorization code + PKCE S256 only. `confidential`: a web
 * back end (`client_secret_basic` with a hashed secret, or `private_key_jwt` with `jwks`).
 * `service`: client credentials only.
 */
export interface ClientConfig {
  client_id: string;
  type: 'spa' | 'confidential' | 'service';
  client_name?: string;
  redirect_uris?: string[];
  post_logout_redirect_uris?: string[];
  /** Argon2id PHC string of the secret (`flotilla auth hash-secret`); files hold only this. */
  client_secret_hash?: string;
  /** In-code lists only (tests, `startAuth`): hashed at start, never stored. */
  client_secret?: string;
  /** Public keys for `private_key_jwt` (RFC 7523). */
  jwks?: { keys: Record<string, unknown>[] };
  /** Resource indicators the client may ask tokens for; the first is its default. */
  resources?: string[];
  /** Scopes the client may ask for (resource scopes and OIDC scopes). */
  scopes?: string[];
  /** Audiences (resource indicators) this client may exchange tokens for (RFC 8693). */
  token_exchange?: string[];
  disabled?: boolean;
}

export interface ClientsFile {
  resources?: ResourceConfig[];
  clients?: ClientConfig[];
}

const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'roles'];
const ID = /^[a-zA-Z0-9._-]{1,128}$/;

export function readClientsFile(path: string): ClientsFile {
  let data: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(
      'AUTH_CLIENTS_FILE',
      `AUTH_CLIENTS_FILE: cannot read ${path} (${(err as Error).message})`,
    );
  }
  if (!data || typeof data !== 'object') {
    throw new ConfigError('AUTH_CLIENTS_FILE', `AUTH_CLIENTS_FILE: ${path} must hold { clients, resources }`);
  }
  const file = data as ClientsFile;
  for (const c of file.clients ?? []) {
    if (c.client_secret !== undefined) {
      throw new ConfigError(
        'AUTH_CLIENTS_FILE',
        `AUTH_CLIENTS_FILE: client ${c.client_id} has a plaintext client_secret; store client_secret_hash`,
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
    for (const r of [...(c.resources ?? []), ...(c.token_exchange ?? [])]) {
      if (!indicators.has(r)) fail(`client ${c.client_id}: unknown resource "${r}"`);
    }
    if (c.disabled) continue;
    const exchange = c.token_exchange?.length ? [TOKEN_EXCHANGE_GRANT] : [];
    const resourceScopes = resources
      .filter((r) => c.resources?.includes(r.indicator) || c.token_exchange?.includes(r.indicator))
      .flatMap((r) => r.scopes);
    const scope = [...new Set(c.scopes ?? [...OIDC_SCOPES, ...resourceScopes])].join(' ');
    const common = {
      client_id: c.client_id,
      client_name: c.client_name ?? c.client_id,
      scope,
      flotilla_resources: c.resources ?? [],
      flotilla_token_exchange: c.token_exchange ?? [],
    };
    switch (c.type) {
      case 'spa':
        if (!c.redirect_uris?.length) fail(`client ${c.client_id}: a spa needs redirect_uris`);
        if (c.client_secret || c.client_secret_hash || c.jwks)
          fail(`client ${c.client_id}: a spa has no secret`);
        out.push({
          ...common,
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          redirect_uris: c.redirect_uris,
          post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
        });
        break;
      case 'confidential':
      case 'service': {
        const auth = await clientAuth(c, argon2);
        const grants =
          c.type === 'service' ? ['client_credentials'] : ['authorization_code', 'refresh_token'];
        if (c.type === 'confidential' && !c.redirect_uris?.length) {
          fail(`client ${c.client_id}: a confidential client needs redirect_uris`);
        }
        out.push({
          ...common,
          ...auth,
          grant_types: [...grants, ...exchange],
          response_types: c.type === 'service' ? [] : ['code'],
          redirect_uris: c.type === 'service' ? [] : c.redirect_uris,
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

async function clientAuth(c: ClientConfig, argon2: Argon2Params): Promise<Partial<ClientMetadata>> {
  if (c.jwks) {
    return { token_endpoint_auth_method: 'private_key_jwt', jwks: c.jwks };
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
