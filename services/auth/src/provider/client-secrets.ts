import { createHmac, randomBytes } from 'node:crypto';
import type Provider from 'oidc-provider';
import { verifySecret } from '../users/password.js';

const CACHE_TTL_MS = 5 * 60_000;
const CACHE_MAX = 10_000;

/**
 * Client secrets are stored as Argon2id hashes. oidc-provider compares plaintext secrets
 * in `Client#compareClientSecret` (awaited by its client authentication), so that method
 * is replaced by a hash verification. Successful verifications are remembered for a few
 * minutes under an HMAC with a per-process random key, so a busy service client does not
 * pay Argon2 on every token request; the plaintext is never kept.
 */
export function useHashedClientSecrets(provider: Provider): void {
  const cacheKey = randomBytes(32);
  const verified = new Map<string, number>();
  const proto = (
    provider.Client as unknown as { prototype: { compareClientSecret(actual: string): unknown } }
  ).prototype;
  proto.compareClientSecret = async function compareClientSecret(
    this: { clientId: string; clientSecret?: string },
    actual: string,
  ): Promise<boolean> {
    const stored = this.clientSecret;
    if (!stored || typeof actual !== 'string' || actual.length > 512) return false;
    const key = createHmac('sha256', cacheKey)
      .update(`${this.clientId}\0${stored}\0${actual}`)
      .digest('base64url');
    const until = verified.get(key);
    if (until !== undefined && until > Date.now()) return true;
    if (!(await verifySecret(stored, actual))) return false;
    if (verified.size >= CACHE_MAX) verified.clear();
    verified.set(key, Date.now() + CACHE_TTL_MS);
    return true;
  };
}
