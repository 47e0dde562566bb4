import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { type RunningAuth, startAuth, type StartAuthOptions } from '../src/index.js';

export const API = 'https://api.flotilla.test';
export const OTHER_API = 'https://other.flotilla.test';
export const SPA_REDIRECT = 'http://127.0.0.1:5173/callback';
export const PASSWORD = 'correct horse battery staple';
export const SECRETS = {
  worker: 'worker-secret-0123456789',
  backend: 'backend-secret-0123456789',
  exchanger: 'exchanger-secret-0123456789',
};

/**
 * Test settings: Argon2id at m=64 KiB, t=1, p=1 (production default m=19456 KiB, t=2, p=1)
 * so the suite stays fast; HTTP on 127.0.0.1 through the explicit dev setting.
 */
export const TEST_ENV = {
  LOG_LEVEL: 'silent',
  AUTH_DEV_INSECURE_HTTP: 'true',
  AUTH_ARGON2_MEMORY_KIB: '64',
  AUTH_ARGON2_TIME_COST: '1',
  AUTH_ARGON2_PARALLELISM: '1',
};

export async function startTestAuth(
  extra: Partial<StartAuthOptions> & { env?: Record<string, string> } = {},
): Promise<RunningAuth & { home: string }> {
  const home = await mkdtemp(join(tmpdir(), 'flotilla-auth-'));
  const auth = await startAuth({
    inMemoryDb: true,
    resources: [
      { indicator: API, scopes: ['videos:read', 'videos:write'] },
      { indicator: OTHER_API, scopes: ['videos:read', 'history:read'] },
    ],
    clients: [
      { client_id: 'spa', type: 'spa', redirect_uris: [SPA_REDIRECT], resources: [API] },
      {
        client_id: 'backend',
        type: 'confidential',
        client_secret: SECRETS.backend,
        redirect_uris: [SPA_REDIRECT],
        resources: [API],
      },
      { client_id: 'worker', type: 'service', client_secret: SECRETS.worker, resources: [API] },
      {
        client_id: 'exchanger',
        type: 'service',
        client_secret: SECRETS.exchanger,
        resources: [API],
        token_exchange: [OTHER_API],
      },
    ],
    users: [{ username: 'alice', password: PASSWORD, roles: ['viewer'] }],
    ...extra,
    env: { ...TEST_ENV, FLOTILLA_HOME: home, ...extra.env },
  });
  const stop = () => auth.service.stop();
  return Object.assign(auth, {
    home,
    stop: async () => {
      await stop();
      await rm(home, { recursive: true, force: true });
    },
  });
}

export function discover(auth: RunningAuth, clientId: string, secret?: string): Promise<oidc.Configuration> {
  return oidc.discovery(
    new URL(auth.issuerUrl),
    clientId,
    secret ? { client_secret: secret } : { token_endpoint_auth_method: 'none' },
    secret ? oidc.ClientSecretBasic(secret) : oidc.None(),
    { execute: [oidc.allowInsecureRequests] },
  );
}

/** A tiny browser: a cookie jar and manual redirects. */
export class Browser {
  private readonly jar = new Map<string, string>();
  /** Every Set-Cookie header seen, as sent. */
  readonly setCookies: string[] = [];

  constructor(private readonly fetchImpl: typeof fetch = fetch) {}

  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.jar.size) headers.set('cookie', [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await this.fetchImpl(url, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      this.setCookies.push(c);
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return res;
  }

  /** Follows redirects until one leaves `origin` or a page is returned. */
  async follow(start: string | URL, origin: string): Promise<{ res: Response; url: URL }> {
    let url = new URL(start);
    for (let i = 0; i < 10; i++) {
      const res = await this.fetch(url);
      const loc = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !loc) return { res, url };
      url = new URL(loc, url);
      if (url.origin !== origin) return { res, url };
    }
    throw new Error('too many redirects');
  }

  async submit(action: URL, fields: Record<string, string>, origin: string) {
    const res = await this.fetch(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    const loc = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && loc) return this.follow(new URL(loc, action), origin);
    return { res, url: action };
  }
}

export function formOf(
  html: string,
  base: URL,
  actionEnds: string,
): { action: URL; fields: Record<string, string> } {
  const forms = [...html.matchAll(/<form method="post" action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)];
  const form = forms.find((f) => f[1]!.endsWith(actionEnds));
  if (!form) throw new Error(`no form ${actionEnds} in page: ${html.slice(0, 300)}`);
  const fields: Record<string, string> = {};
  for (const m of form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields[m[1]!] = m[2]!;
  return { action: new URL(form[1]!, base), fields };
}

/**
 * Runs the authorization code flow with PKCE through the HTML login (and consent) pages
 * like a browser, and returns the callback URL the client receives.
 */
export async function browserLogin(
  config: oidc.Configuration,
  auth: RunningAuth,
  opts: {
    username?: string;
    password?: string;
    params?: Record<string, string>;
    otp?: () => Promise<string>;
    /** How the browser fetches (e.g. over TLS trusting a test CA). */
    fetch?: typeof fetch;
  } = {},
) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const authUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: SPA_REDIRECT,
    scope: 'openid profile roles offline_access videos:read',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    prompt: 'consent',
    resource: API,
    ...opts.params,
  });
  const origin = new URL(auth.url).origin;
  const browser = new Browser(opts.fetch);
  let { res, url } = await browser.follow(authUrl, origin);
  let html = await res.text();
  const login = formOf(html, url, '/login');
  ({ res, url } = await browser.submit(
    login.action,
    { ...login.fields, username: opts.username ?? 'alice', password: opts.password ?? PASSWORD },
    origin,
  ));
  if (opts.otp) {
    html = await res.text();
    const mfa = formOf(html, url, '/mfa');
    ({ res, url } = await browser.submit(mfa.action, { ...mfa.fields, code: await opts.otp() }, origin));
  }
  let lastHtml = '';
  if (url.origin === origin) {
    lastHtml = await res.text();
    if (lastHtml.includes('/confirm')) {
      const consent = formOf(lastHtml, url, '/confirm');
      ({ res, url } = await browser.submit(consent.action, consent.fields, origin));
      lastHtml = url.origin === origin ? await res.text() : '';
    }
  }
  return { callbackUrl: url, verifier, state, browser, lastResponse: res, lastHtml };
}

/**
 * The auth service's audit trail as it is now: read once, with no waiting, because every
 * answer is sent only after its records are durable.
 */
export async function readAudit(home: string): Promise<string> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  return fs.readFile(path.join(home, 'audit', 'auth.jsonl'), 'utf8');
}
