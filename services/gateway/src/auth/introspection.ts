import { authUnavailable, invalidToken } from './auth-errors.js';
import { type Principal, principalFromClaims } from './principal.js';
import { TokenCache, tokenHash } from './token-cache.js';

export interface IntrospectorOptions {
  /** The auth server's introspection endpoint (RFC 7662 §2). */
  url: string;
  clientId: string;
  clientSecret: string;
  /** How long an answer is reused; never beyond the token's `exp`. */
  cacheMs: number;
  cacheSize: number;
  timeoutMs: number;
  issuer?: string | undefined;
  audience?: string | undefined;
}

type Answer = { active: true; principal: Principal } | { active: false };

/**
 * Validates opaque tokens by RFC 7662 introspection, authenticated with the gateway's
 * client credentials (RFC 6749 §2.3.1 Basic). Answers are cached briefly, so a revoked
 * opaque token stays usable for at most `cacheMs` (the denylist still applies on top).
 */
export class Introspector {
  readonly #opts: IntrospectorOptions;
  readonly #cache: TokenCache<Answer>;
  readonly #authorization: string;

  constructor(opts: IntrospectorOptions) {
    this.#opts = opts;
    this.#cache = new TokenCache(opts.cacheSize);
    // RFC 6749 §2.3.1: form-urlencode the id and secret before base64.
    const creds = `${encodeURIComponent(opts.clientId)}:${encodeURIComponent(opts.clientSecret)}`;
    this.#authorization = `Basic ${Buffer.from(creds).toString('base64')}`;
  }

  async introspect(token: string): Promise<Principal> {
    const key = tokenHash(token);
    const answer = this.#cache.get(key) ?? (await this.#ask(key, token));
    if (!answer.active) throw invalidToken('token is not active');
    if (answer.principal.exp && answer.principal.exp * 1000 <= Date.now())
      throw invalidToken('token expired', 'FLT_TOKEN_EXPIRED');
    return answer.principal;
  }

  async #ask(key: string, token: string): Promise<Answer> {
    let body: Record<string, unknown>;
    try {
      const res = await fetch(this.#opts.url, {
        method: 'POST',
        headers: {
          authorization: this.#authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        signal: AbortSignal.timeout(this.#opts.timeoutMs),
      });
      if (!res.ok) throw new Error(`introspection answered ${res.status}`);
      body = (await res.json()) as Record<string, unknown>;
    } catch (err) {
      throw authUnavailable('token introspection failed', err);
    }
    const answer = this.#toAnswer(body);
    const exp = answer.active && answer.principal.exp ? answer.principal.exp * 1000 : Infinity;
    this.#cache.set(key, answer, Math.min(Date.now() + this.#opts.cacheMs, exp));
    return answer;
  }

  #toAnswer(body: Record<string, unknown>): Answer {
    // RFC 7662 §2.2: anything but a literal `true` is inactive.
    if (body.active !== true) return { active: false };
    if (typeof body.client_id !== 'string') return { active: false };
    if (body.token_type !== undefined && body.token_type !== 'access_token' && body.token_type !== 'Bearer') {
      return { active: false };
    }
    if (this.#opts.issuer && body.iss !== undefined && body.iss !== this.#opts.issuer)
      return { active: false };
    const aud = body.aud;
    const audience = this.#opts.audience;
    if (
      audience &&
      aud !== undefined &&
      !(aud === audience || (Array.isArray(aud) && aud.includes(audience)))
    ) {
      return { active: false };
    }
    return {
      active: true,
      principal: principalFromClaims({ ...body, sub: body.sub ?? body.client_id }, 'introspection'),
    };
  }
}
