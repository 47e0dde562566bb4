import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@flotilla/kit';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { readClientsFile } from '../src/clients.js';
import { type RunningAuth, startAuth } from '../src/index.js';
import { readBootstrapUsersFile } from '../src/users/bootstrap.js';
import { browserLogin, TEST_ENV } from './helpers.js';

const API = 'https://localhost:8443/api';
const WEB = 'https://localhost:8443/';
const OPS_SECRET = 'ops-secret-0123456789abcdef';
const ALICE_PASSWORD = 'alice-password-0123456789';
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** The clients file as `flotilla up` writes it (0600, under .flotilla/secrets). */
function fleetClients(opsSecret: Record<string, string>) {
  return {
    resources: [{ indicator: API, scopes: ['videos:read', 'videos:write', 'history:read', 'history:write'] }],
    clients: [
      {
        client_id: 'flixtube-web',
        type: 'spa',
        redirect_uris: [WEB],
        post_logout_redirect_uris: [WEB],
        scope: 'openid profile videos:read videos:write history:read history:write',
        resources: [API],
      },
      {
        client_id: 'flixtube-ops',
        type: 'confidential',
        ...opsSecret,
        scope: 'videos:read',
        resources: [API],
      },
    ],
  };
}

async function write(path: string, value: unknown, mode: number): Promise<string> {
  await writeFile(path, JSON.stringify(value), { mode });
  await chmod(path, mode);
  return path;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('AUTH_BOOTSTRAP_USERS_FILE and AUTH_CLIENTS_FILE as flotilla up writes them', () => {
  let dir: string;
  let auth: RunningAuth;
  let logs = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-auth-files-'));
    const clientsFile = await write(
      join(dir, 'auth-clients.json'),
      fleetClients({ client_secret: OPS_SECRET }),
      0o600,
    );
    const usersFile = await write(
      join(dir, 'auth-users.json'),
      {
        users: [
          { username: 'alice', password: ALICE_PASSWORD, roles: ['viewer'] },
          { username: 'bob', password: 'bob-password-0123456789', roles: ['admin'] },
        ],
      },
      0o600,
    );
    const env = {
      ...TEST_ENV,
      LOG_LEVEL: 'info',
      FLOTILLA_HOME: join(dir, 'home'),
      AUTH_CLIENTS_FILE: clientsFile,
      AUTH_BOOTSTRAP_USERS_FILE: usersFile,
    };
    const logStream = new Writable({
      write(chunk: Buffer, _enc, done) {
        logs += chunk.toString();
        done();
      },
    });
    // First start creates the users; then bob changes nothing that the second start may undo.
    const first = await startAuth({ env, logStream });
    const bob = (await first.users.byUsername('bob'))!;
    await first.users.setPassword('bob', 'bob-changed-password-0123');
    await first.users.setDisabled('bob', true);
    await first.stop();
    auth = await startAuth({ env, logStream });
    expect((await auth.users.byUsername('bob'))!.id).toBe(bob.id);
  });
  afterAll(async () => {
    await auth?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates missing users once, never changes existing ones, never logs passwords', async () => {
    const alice = await auth.users.byUsername('alice');
    expect(alice).toMatchObject({ username: 'alice', roles: ['viewer'], disabled: false });
    expect(alice!.passwordHash).toMatch(/^\$argon2id\$/);
    const bob = await auth.users.byUsername('bob');
    // Disabled and re-passworded after the first start: the second start left that alone.
    expect(bob).toMatchObject({ roles: ['admin'], disabled: true });
    expect(await auth.users.list()).toHaveLength(2);
    const audit = await readFile(join(dir, 'home', 'audit', 'auth.jsonl'), 'utf8');
    expect(audit.match(/"user\.create"/g)).toHaveLength(2);
    for (const text of [logs, audit]) {
      expect(text).not.toContain(ALICE_PASSWORD);
      expect(text).not.toContain('bob-password');
      expect(text).not.toContain(OPS_SECRET);
    }
    expect(logs).toContain('bootstrap users');
  });

  it('signs a bootstrap user in through the fleet SPA client (roles scope allowed) with a token for the API', async () => {
    const config = await oidc.discovery(
      new URL(auth.issuerUrl),
      'flixtube-web',
      { token_endpoint_auth_method: 'none' },
      oidc.None(),
      { execute: [oidc.allowInsecureRequests] },
    );
    const login = await browserLogin(config, auth, {
      password: ALICE_PASSWORD,
      params: {
        redirect_uri: WEB,
        scope: 'openid profile roles videos:read videos:write history:read history:write',
        resource: API,
      },
    });
    expect(login.callbackUrl.origin + login.callbackUrl.pathname).toBe(WEB);
    const tokens = await oidc.authorizationCodeGrant(
      config,
      login.callbackUrl,
      { pkceCodeVerifier: login.verifier, expectedState: login.state },
      { resource: API },
    );
    const at = decodeJwt(tokens.access_token);
    expect(at).toMatchObject({ aud: API, client_id: 'flixtube-web', roles: ['viewer'], amr: ['pwd'] });
    expect(String(at.scope).split(' ').sort()).toEqual(
      ['history:read', 'history:write', 'videos:read', 'videos:write'].sort(),
    );
    expect(tokens.claims()).toMatchObject({ preferred_username: 'alice', roles: ['viewer'] });
  });

  it('issues client-credentials tokens to the confidential ops client (plaintext secret hashed at start)', async () => {
    const config = await oidc.discovery(
      new URL(auth.issuerUrl),
      'flixtube-ops',
      { client_secret: OPS_SECRET },
      oidc.ClientSecretBasic(OPS_SECRET),
      { execute: [oidc.allowInsecureRequests] },
    );
    const tokens = await oidc.clientCredentialsGrant(config, { resource: API });
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      aud: API,
      sub: 'flixtube-ops',
      client_id: 'flixtube-ops',
      scope: 'videos:read',
    });
    const wrong = await fetch(`${auth.issuerUrl}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('flixtube-ops:wrong-secret').toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: API }).toString(),
    });
    expect(wrong.status).toBe(401);
    // Not allowed more than its scope, nor the code flow.
    await expect(
      oidc.clientCredentialsGrant(config, { resource: API, scope: 'videos:write' }),
    ).rejects.toMatchObject({ error: 'invalid_scope' });
  });

  it('allows CORS from the SPA origin only (clientBasedCORS), never with credentials', async () => {
    const SPA_ORIGIN = 'https://localhost:8443';
    const EVIL = 'https://evil.example';
    const base = auth.issuerUrl;
    const preflight = (path: string, origin: string, method = 'POST') =>
      fetch(`${base}${path}`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': method,
          'access-control-request-headers': 'content-type, authorization',
        },
      });
    for (const [path, method] of [
      ['/token', 'POST'],
      ['/token/revocation', 'POST'],
      ['/me', 'GET'],
      ['/.well-known/openid-configuration', 'GET'],
    ] as const) {
      const ok = await preflight(path, SPA_ORIGIN, method);
      expect(ok.status, path).toBe(204);
      expect(ok.headers.get('access-control-allow-origin'), path).toBe(SPA_ORIGIN);
      expect(ok.headers.get('access-control-allow-methods'), path).toContain(method);
      expect(ok.headers.get('access-control-allow-credentials'), path).toBeNull();
      const no = await preflight(path, EVIL, method);
      expect(no.status, path).toBe(403);
      expect(no.headers.get('access-control-allow-origin'), path).toBeNull();
      expect(no.headers.get('access-control-allow-methods'), path).toBeNull();
    }
    const discovery = (origin: string) =>
      fetch(`${base}/.well-known/openid-configuration`, { headers: { origin } });
    const fromSpa = await discovery(SPA_ORIGIN);
    expect(fromSpa.status).toBe(200);
    expect(fromSpa.headers.get('access-control-allow-origin')).toBe(SPA_ORIGIN);
    expect(fromSpa.headers.get('vary')).toMatch(/origin/i);
    const fromEvil = await discovery(EVIL);
    expect(fromEvil.status).toBe(200); // same-origin-policy keeps the body from the page
    expect(fromEvil.headers.get('access-control-allow-origin')).toBeNull();

    // The token request itself: the spa from its origin yes; from another origin, or a
    // confidential client from a browser, no.
    const tokenFrom = (origin: string, body: Record<string, string>, authz?: string) =>
      fetch(`${base}/token`, {
        method: 'POST',
        headers: {
          origin,
          'content-type': 'application/x-www-form-urlencoded',
          ...(authz ? { authorization: authz } : {}),
        },
        body: new URLSearchParams(body).toString(),
      });
    const spaRefresh = { grant_type: 'refresh_token', client_id: 'flixtube-web', refresh_token: 'nope' };
    const allowed = await tokenFrom(SPA_ORIGIN, spaRefresh);
    expect(allowed.status).toBe(400);
    expect(((await allowed.json()) as { error: string }).error).toBe('invalid_grant');
    expect(allowed.headers.get('access-control-allow-origin')).toBe(SPA_ORIGIN);
    const refused = await tokenFrom(EVIL, spaRefresh);
    expect(((await refused.json()) as { error_description: string }).error_description).toMatch(
      /origin .* not allowed/,
    );
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const ops = await tokenFrom(
      SPA_ORIGIN,
      { grant_type: 'client_credentials', resource: API },
      `Basic ${Buffer.from(`flixtube-ops:${OPS_SECRET}`).toString('base64')}`,
    );
    expect(ops.status).toBe(400);
    expect(((await ops.json()) as { error_description: string }).error_description).toMatch(/not allowed/);
  });

  it('refuses a users file readable by group or others, and bad entries, in one line without the password', async () => {
    const users = { users: [{ username: 'alice', password: ALICE_PASSWORD, roles: ['viewer'] }] };
    const open = await write(join(dir, 'open-users.json'), users, 0o644);
    const err = configError(() => readBootstrapUsersFile(open));
    expect(err.setting).toBe('AUTH_BOOTSTRAP_USERS_FILE');
    expect(err.message).toContain('0644');
    expect(err.message).toContain('0600');
    expect(err.message).not.toContain('\n');
    expect(configError(() => readBootstrapUsersFile(join(dir, 'missing.json'))).message).toContain(
      'cannot read',
    );
    const cases: [unknown, string][] = [
      [{ users: [{ username: 'carol', password: 'short' }] }, 'at least 12 characters'],
      [{ users: [{ username: 'no spaces', password: ALICE_PASSWORD }] }, 'username'],
      [{ users: [{ username: 'carol', password: ALICE_PASSWORD, roles: ['Bad Role'] }] }, 'roles'],
      [{ users: [{ username: 'carol', password: ALICE_PASSWORD, admin: true }] }, 'unknown field'],
      [{ people: [] }, '"users"'],
    ];
    for (const [value, expected] of cases) {
      const path = await write(join(dir, 'bad-users.json'), value, 0o600);
      const e = configError(() => readBootstrapUsersFile(path));
      expect(e.message).toContain(expected);
      expect(e.message).not.toContain(ALICE_PASSWORD);
    }
    // A JSON error does not echo the text around it (the parser's message would).
    await writeFile(join(dir, 'bad-users.json'), `{"users":[{"password":"${ALICE_PASSWORD}",}]}`);
    const parse = configError(() => readBootstrapUsersFile(join(dir, 'bad-users.json')));
    expect(parse.message).toContain('not valid JSON');
    expect(parse.message).not.toContain(ALICE_PASSWORD);
  });

  it('accepts client_secret_hash anywhere, a plaintext client_secret only from a 0600 file', async () => {
    const plain = fleetClients({ client_secret: OPS_SECRET });
    const open = await write(join(dir, 'open-clients.json'), plain, 0o640);
    const err = configError(() => readClientsFile(open));
    expect(err.setting).toBe('AUTH_CLIENTS_FILE');
    expect(err.message).toContain('flixtube-ops has a plaintext client_secret');
    expect(err.message).not.toContain(OPS_SECRET);
    const hashed = fleetClients({ client_secret_hash: '$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA' });
    expect(readClientsFile(await write(join(dir, 'hashed.json'), hashed, 0o644)).clients).toHaveLength(2);
    const typo = { ...plain, clients: [{ ...plain.clients[0], redirect_uri: [WEB] }] };
    const typoFile = await write(join(dir, 'typo.json'), typo, 0o600);
    expect(configError(() => readClientsFile(typoFile)).message).toContain('unknown field redirect_uri');
  });

  it('reads a clients file in YAML, and refuses broken YAML without quoting it', async () => {
    const hashed = fleetClients({ client_secret_hash: '$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA' });
    const file = join(dir, 'clients.yaml');
    await writeFile(file, stringifyYaml(hashed), { mode: 0o644 });
    expect(readClientsFile(file).clients?.map((c) => c.client_id)).toEqual(
      hashed.clients.map((c) => c.client_id),
    );
    const broken = join(dir, 'broken.yaml');
    await writeFile(broken, `clients:\n  - client_id: "ops\n  client_secret: ${OPS_SECRET}\n`, {
      mode: 0o600,
    });
    const e = configError(() => readClientsFile(broken));
    expect(e.message).toContain('is not valid JSON or YAML');
    expect(e.message).not.toContain(OPS_SECRET);
  });

  it('main.ts exits 78 with one line naming the setting when the users file is open to others', async () => {
    const open = await write(
      join(dir, 'open-users-main.json'),
      { users: [{ username: 'alice', password: ALICE_PASSWORD }] },
      0o604,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: {
        ...process.env,
        ...TEST_ENV,
        LOG_LEVEL: 'silent',
        FLOTILLA_HOME: join(dir, 'main-home'),
        AUTH_BOOTSTRAP_USERS_FILE: open,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(78);
    expect(stdout).not.toContain('listening');
    const lines = stderr.split('\n').filter((l) => l.startsWith('auth:'));
    expect(lines).toEqual([
      expect.stringMatching(/^auth: invalid configuration: AUTH_BOOTSTRAP_USERS_FILE: .*0604/),
    ]);
    expect(stderr).not.toContain(ALICE_PASSWORD);
  }, 30_000);
});
