// Client-credentials tokens per second and complete authorization-code + PKCE flows per
// second (login form, consent, code redemption) on this machine.
//   npx tsx bench/auth/tokens.ts            (production Argon2 cost)
//   BENCH_SECONDS=5 BENCH_CONCURRENCY=8 npx tsx bench/auth/tokens.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAuth } from '@flotilla/auth';
import { describeArgon2 } from '@flotilla/auth';
import * as oidc from 'openid-client';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const API = 'https://api.bench.local';
const REDIRECT = 'http://127.0.0.1:9/cb';
const PASSWORD = 'bench password 0123456789';
const argon2 = {
  memoryCost: Number(process.env.AUTH_ARGON2_MEMORY_KIB ?? 19_456),
  timeCost: Number(process.env.AUTH_ARGON2_TIME_COST ?? 2),
  parallelism: Number(process.env.AUTH_ARGON2_PARALLELISM ?? 1),
};

async function measure(name: string, op: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + SECONDS * 1000;
  let done = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) {
        try {
          await op();
          done++;
        } catch (err) {
          if (failed++ === 0) console.error(`${name}: ${(err as Error).message}`);
        }
      }
    }),
  );
  const secs = (performance.now() - started) / 1000;
  console.log(
    `${name.padEnd(34)} ${(done / secs).toFixed(1).padStart(8)} /s  (${done} in ${secs.toFixed(1)} s, ${failed} failed)`,
  );
}

function cookieJar() {
  const jar = new Map<string, string>();
  return async (url: URL | string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      jar.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
    return res;
  };
}

const home = await mkdtemp(join(tmpdir(), 'flotilla-bench-auth-'));
const auth = await startAuth({
  inMemoryDb: true,
  env: {
    FLOTILLA_HOME: home,
    LOG_LEVEL: 'silent',
    AUTH_DEV_INSECURE_HTTP: 'true',
    AUTH_ARGON2_MEMORY_KIB: String(argon2.memoryCost),
    AUTH_ARGON2_TIME_COST: String(argon2.timeCost),
    AUTH_ARGON2_PARALLELISM: String(argon2.parallelism),
    AUTH_TOKEN_RATE_PER_CLIENT: '1000000',
    AUTH_TOKEN_RATE_PER_IP: '1000000',
    AUTH_LOGIN_IP_MAX_FAILURES: '100000',
  },
  resources: [{ indicator: API, scopes: ['read'] }],
  clients: [
    { client_id: 'svc', type: 'service', client_secret: 'bench-secret-0123456789', resources: [API] },
    { client_id: 'spa', type: 'spa', redirect_uris: [REDIRECT], resources: [API] },
  ],
  users: [{ username: 'bench', password: PASSWORD, roles: ['viewer'] }],
});
console.log(`auth at ${auth.url}; ${cpus().length} CPUs; Node ${process.version}`);
console.log(
  `passwords and client secrets: ${describeArgon2(argon2)}; concurrency ${CONCURRENCY}; ${SECONDS} s each`,
);

const execute = [oidc.allowInsecureRequests];
const svc = await oidc.discovery(
  new URL(auth.issuerUrl),
  'svc',
  'bench-secret-0123456789',
  oidc.ClientSecretBasic('bench-secret-0123456789'),
  { execute },
);
const spa = await oidc.discovery(
  new URL(auth.issuerUrl),
  'spa',
  { token_endpoint_auth_method: 'none' },
  oidc.None(),
  {
    execute,
  },
);

await measure('client_credentials tokens', async () => {
  await oidc.clientCredentialsGrant(svc, { resource: API });
});

await measure('authorization code + PKCE flows', async () => {
  const browse = cookieJar();
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  let res = await browse(
    oidc.buildAuthorizationUrl(spa, {
      redirect_uri: REDIRECT,
      scope: 'openid read',
      resource: API,
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }),
  );
  let url = new URL(res.headers.get('location')!, auth.url);
  const page = await (await browse(url)).text();
  const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1]!;
  const post = async (path: string, csrf: string, fields: Record<string, string>) => {
    return browse(new URL(path, url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, ...fields }).toString(),
    });
  };
  const uid = url.pathname.split('/')[2]!;
  res = await post(`/interaction/${uid}/login`, csrfOf(page), { username: 'bench', password: PASSWORD });
  // Follow back through /auth to the consent interaction, confirm, then to the callback.
  for (let i = 0; i < 6; i++) {
    url = new URL(res.headers.get('location')!, url);
    if (url.origin !== new URL(auth.url).origin) break;
    if (url.pathname.startsWith('/interaction/')) {
      const consentUid = url.pathname.split('/')[2]!;
      const consent = await (await browse(url)).text();
      res = await post(`/interaction/${consentUid}/confirm`, csrfOf(consent), {});
    } else {
      res = await browse(url);
    }
  }
  await oidc.authorizationCodeGrant(
    spa,
    url,
    { pkceCodeVerifier: verifier, expectedState: state },
    { resource: API },
  );
});

await auth.stop();
await rm(home, { recursive: true, force: true });
