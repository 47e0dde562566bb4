import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNING_ALGORITHM } from '@flotilla/kit/contracts';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export interface TestTokenOptions {
  /** Claims on top of the defaults (`iss`, `aud`, `client_id`, `scope`, `roles`, `amr`, `jti`, `iat`, `exp`). */
  claims?: Record<string, unknown>;
  /** Claims to leave out, e.g. `['client_id']`. */
  omit?: readonly string[];
  /** Header `typ`; default `at+jwt`. */
  typ?: string;
  /** Lifetime in seconds (negative: already expired); default 300. */
  expiresIn?: number;
  /** Sign with a key the JWKS does not publish (same `kid`): a forgery. */
  rogueKey?: boolean;
}

export interface TestIssuer {
  /** The issuer URL; it also serves `/.well-known/openid-configuration`. */
  readonly issuer: string;
  readonly jwksUrl: string;
  /** How many times the JWKS was fetched. */
  readonly jwksFetches: number;
  /** Mints an access token (RFC 9068) for `sub`, signed as the auth service signs. */
  token(sub: string, options?: TestTokenOptions): Promise<string>;
  close(): Promise<void>;
}

/**
 * For tests only: an issuer with a fresh key (generated at run time, never stored)
 * that serves its JWKS and OpenID configuration on a local port and mints access tokens,
 * so a service's user authentication is tested against real signatures.
 *
 * @example
 * const issuer = await startTestIssuer({ audience: 'flixtube-api' });
 * const token = await issuer.token('alice', { claims: { roles: ['viewer'] } });
 */
export async function startTestIssuer(opts: { audience: string; clientId?: string }): Promise<TestIssuer> {
  const kid = randomUUID();
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALGORITHM);
  const rogue = await generateKeyPair(SIGNING_ALGORITHM);
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALGORITHM, use: 'sig' };
  let fetches = 0;
  let issuer = '';
  const server = createServer((req, res) => {
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.url === '/jwks') {
      fetches += 1;
      send({ keys: [jwk] });
    } else if (req.url === '/.well-known/openid-configuration') {
      send({ issuer, jwks_uri: `${issuer}/jwks` });
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    get jwksFetches() {
      return fetches;
    },
    async token(sub, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const claims: Record<string, unknown> = {
        iss: issuer,
        sub,
        aud: opts.audience,
        client_id: opts.clientId ?? 'test-client',
        scope: 'openid',
        roles: [],
        amr: ['pwd'],
        jti: randomUUID(),
        iat: now,
        exp: now + (options.expiresIn ?? 300),
        ...options.claims,
      };
      for (const name of options.omit ?? []) delete claims[name];
      return new SignJWT(claims)
        .setProtectedHeader({ alg: SIGNING_ALGORITHM, typ: options.typ ?? 'at+jwt', kid })
        .sign(options.rogueKey ? rogue.privateKey : privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
