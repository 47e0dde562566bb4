import type { RevocationEvent } from '@flotilla/kit/contracts';
import type { Principal } from '../auth/principal.js';

/**
 * The set of revoked tokens, grants, users and clients, consulted on every request
 * (after the verified-token cache, so a cached token is still denied the moment the
 * event arrives). Entries expire after `ttlMs`: by then every token they could match has expired.
 */
export class Denylist {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #jti = new Map<string, number>();
  readonly #grant = new Map<string, number>();
  // For users and clients, the value is the event time: tokens issued up to then are denied.
  readonly #sub = new Map<string, { at: number; until: number }>();
  readonly #client = new Map<string, { at: number; until: number }>();

  constructor(ttlMs: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  get size(): number {
    return this.#jti.size + this.#grant.size + this.#sub.size + this.#client.size;
  }

  /** Applies an event of the revocation contract (validated on receipt by its subscriber). */
  apply(event: RevocationEvent): void {
    // The contract's `at` is a NumericDate (seconds).
    const at = event.at * 1000;
    const until = this.#now() + this.#ttlMs;
    switch (event.type) {
      case 'token':
        if (event.jti) this.#jti.set(event.jti, until);
        break;
      case 'grant':
        if (event.grantId) this.#grant.set(event.grantId, until);
        break;
      case 'user':
        if (event.sub) this.#sub.set(event.sub, latest(this.#sub.get(event.sub), at, until));
        break;
      case 'client':
        if (event.clientId)
          this.#client.set(event.clientId, latest(this.#client.get(event.clientId), at, until));
        break;
    }
  }

  /** Why the principal is denied, or undefined when it is not. */
  check(p: Principal): string | undefined {
    const now = this.#now();
    if (p.jti && live(this.#jti, p.jti, now)) return 'token revoked';
    if (p.grantId && live(this.#grant, p.grantId, now)) return 'grant revoked';
    // `iat` has one-second resolution: a token issued in the event's second is denied too.
    const issued = p.iat * 1000;
    const user = this.#sub.get(p.sub);
    if (user && user.until > now && issued <= user.at) return 'user disabled';
    const client = this.#client.get(p.clientId);
    if (client && client.until > now && issued <= client.at) return 'client disabled';
    return undefined;
  }

  /** Drops expired entries; called periodically. */
  sweep(): void {
    const now = this.#now();
    for (const m of [this.#jti, this.#grant]) for (const [k, until] of m) if (until <= now) m.delete(k);
    for (const m of [this.#sub, this.#client]) for (const [k, v] of m) if (v.until <= now) m.delete(k);
  }
}

function live(map: Map<string, number>, key: string, now: number): boolean {
  const until = map.get(key);
  return until !== undefined && until > now;
}

function latest(prev: { at: number; until: number } | undefined, at: number, until: number) {
  return prev && prev.at > at ? { at: prev.at, until } : { at, until };
}
