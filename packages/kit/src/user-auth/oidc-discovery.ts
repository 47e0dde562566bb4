import type { FetchImplementation } from 'jose';
import { FlotillaError } from '../errors/index.js';

/** The issuer's OpenID configuration could not be read or is not trustworthy (`FLT_DISCOVERY_FAILED`). */
export class DiscoveryError extends FlotillaError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super('FLT_DISCOVERY_FAILED', message, opts);
    this.name = 'DiscoveryError';
  }
}

/**
 * The issuer's `jwks_uri` from its OpenID configuration (OpenID Connect Discovery 1.0 §4).
 * §4.3: the document's `issuer` must equal the issuer we were configured with, so a
 * document served for another issuer cannot hand us its keys.
 */
export async function discoverJwksUri(issuer: string, fetchImpl?: FetchImplementation): Promise<string> {
  const url = new URL('.well-known/openid-configuration', issuer.endsWith('/') ? issuer : `${issuer}/`);
  const response = fetchImpl
    ? await fetchImpl(url.href, {
        headers: new Headers({ accept: 'application/json' }),
        method: 'GET',
        redirect: 'manual',
        signal: AbortSignal.timeout(5_000),
      })
    : await fetch(url, {
        headers: { accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(5_000),
      });
  if (response.status !== 200)
    throw new DiscoveryError(`discovery at ${url.href} answered ${response.status}`);
  let metadata: { issuer?: unknown; jwks_uri?: unknown };
  try {
    metadata = (await response.json()) as typeof metadata;
  } catch (cause) {
    throw new DiscoveryError(`discovery at ${url.href} is not JSON`, { cause });
  }
  if (!metadata || typeof metadata !== 'object')
    throw new DiscoveryError(`discovery at ${url.href} is not an object`);
  if (metadata.issuer !== issuer) throw new DiscoveryError(`discovery at ${url.href} names another issuer`);
  if (typeof metadata.jwks_uri !== 'string' || !URL.canParse(metadata.jwks_uri)) {
    throw new DiscoveryError(`discovery at ${url.href} has no valid jwks_uri`);
  }
  return metadata.jwks_uri;
}
