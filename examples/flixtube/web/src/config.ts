/**
 * What the app needs to know about its fleet, served next to it as `/config.json`
 * (written by the fleet runner, served by the gateway):
 *
 * ```json
 * { "issuer": "https://localhost:8443", "clientId": "flixtube-web",
 *   "redirectUri": "https://localhost:8080/", "apiBase": "/api" }
 * ```
 */
export interface AppConfig {
  /** The OpenID Provider's issuer identifier (its discovery document is read from there). */
  issuer: string;
  /** The public client registered for this app (authorization code + PKCE, no secret). */
  clientId: string;
  /** Where the auth server sends the browser back; this app's own origin. */
  redirectUri: string;
  /** Where the API is, on this origin; default `/api`. */
  apiBase: string;
  /** Where the auth server sends the browser after sign-out; default the app's root. */
  postLogoutRedirectUri: string;
  /** Scopes asked for; default `openid profile roles`. */
  scope: string;
  /** RFC 8707 resource indicator to ask the token for; default the client's own default. */
  resource?: string;
}

export const DEFAULT_SCOPE = 'openid profile roles';

export class ConfigProblem extends Error {
  override readonly name = 'ConfigProblem';
}

function text(raw: Record<string, unknown>, key: string, fallback?: string): string {
  const value = raw[key] ?? fallback;
  if (typeof value !== 'string' || value.trim() === '')
    throw new ConfigProblem(`config.json: ${key} is required`);
  return value;
}

/** A URL on the app's own origin: codes and tokens must never be sent elsewhere. */
function sameOrigin(key: string, value: string, origin: string): string {
  let url: URL;
  try {
    url = new URL(value, origin);
  } catch {
    throw new ConfigProblem(`config.json: ${key} is not a URL`);
  }
  if (url.origin !== origin) throw new ConfigProblem(`config.json: ${key} must be on ${origin}`);
  return url.href;
}

function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}

/** Validates `/config.json` (pure: no DOM). `origin` is the app's own origin. */
export function parseConfig(raw: unknown, origin: string): AppConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigProblem('config.json must hold an object');
  const r = raw as Record<string, unknown>;
  const issuer = text(r, 'issuer');
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(issuer);
  } catch {
    throw new ConfigProblem('config.json: issuer is not a URL');
  }
  // RFC 9700 §2.6 and OIDC: only TLS, except on the developer's own machine.
  if (issuerUrl.protocol !== 'https:' && !(issuerUrl.protocol === 'http:' && isLoopback(issuerUrl))) {
    throw new ConfigProblem('config.json: issuer must use https');
  }
  const apiBase = text(r, 'apiBase', '/api');
  const config: AppConfig = {
    issuer,
    clientId: text(r, 'clientId', 'flixtube-web'),
    redirectUri: sameOrigin('redirectUri', text(r, 'redirectUri', `${origin}/`), origin),
    apiBase: new URL(sameOrigin('apiBase', apiBase, origin)).pathname.replace(/\/$/, ''),
    postLogoutRedirectUri: sameOrigin(
      'postLogoutRedirectUri',
      text(r, 'postLogoutRedirectUri', `${origin}/`),
      origin,
    ),
    scope: text(r, 'scope', DEFAULT_SCOPE),
  };
  if (!config.scope.split(' ').includes('openid'))
    throw new ConfigProblem('config.json: scope must include openid');
  if (r.resource !== undefined) config.resource = text(r, 'resource');
  return config;
}

/** Reads `/config.json`; in development (`vite`), `VITE_FLIXTUBE_ISSUER` stands in for it. */
export async function loadConfig(origin: string): Promise<AppConfig> {
  const res = await fetch('/config.json', { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (res.ok) return parseConfig(await res.json(), origin);
  const devIssuer = import.meta.env.VITE_FLIXTUBE_ISSUER as string | undefined;
  if (import.meta.env.DEV && devIssuer) return parseConfig({ issuer: devIssuer }, origin);
  throw new ConfigProblem(`FlixTube is not configured: /config.json answered ${res.status}`);
}
