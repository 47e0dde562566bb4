import Provider from 'oidc-provider';
import type { AuditEvent } from '@flotilla/kit';
import type { Revocations } from '../revocations/store.js';
import {
  TOKEN_EXCHANGE_GRANT,
  TOKEN_EXCHANGE_PARAMS,
  type ExchangeDeps,
  tokenExchangeHandler,
} from '../token-exchange.js';
import { type AccessTokenVerifier, structuredTokenMiddleware } from './access-tokens.js';
import { useHashedClientSecrets } from './client-secrets.js';
import { type ProviderSettings, providerConfiguration } from './config.js';
import { corsGate, spaOrigins } from './cors.js';
import { wireProviderEvents } from './events.js';

export interface CreateProviderOptions extends ProviderSettings {
  issuer: string;
  trustProxy: boolean;
  verifier: AccessTokenVerifier;
  revocations: Revocations;
  exchange: Omit<ExchangeDeps, 'verifier' | 'revocations'>;
  audit: (event: AuditEvent) => Promise<unknown>;
}

/** Builds an oidc-provider instance; rebuilt (cheaply) when the signing keys change. */
export function createProvider(o: CreateProviderOptions): Provider {
  const provider = new Provider(o.issuer, providerConfiguration(o));
  // Behind a TLS-terminating proxy only when told so (X-Forwarded-Proto decides `Secure`).
  provider.proxy = o.trustProxy;
  useHashedClientSecrets(provider);
  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    tokenExchangeHandler({ ...o.exchange, verifier: o.verifier, revocations: o.revocations }),
    TOKEN_EXCHANGE_PARAMS,
  );
  // First, so that it wraps every other middleware and the provider's own routes.
  wireProviderEvents(provider, o.audit, o.revocations);
  provider.use(corsGate(spaOrigins(o.clients)));
  provider.use(structuredTokenMiddleware(o.verifier, o.revocations));
  return provider;
}
