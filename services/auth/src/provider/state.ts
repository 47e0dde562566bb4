import type { JSONWebKeySet } from 'jose';
import type Provider from 'oidc-provider';
import type { KeyStore } from '../keys.js';
import type { AccessTokenVerifier } from './access-tokens.js';
import { type CreateProviderOptions, createProvider } from './create.js';

/** The provider in use and the key set it was built from. */
export interface ProviderInstance {
  provider: Provider;
  callback: ReturnType<Provider['callback']>;
  version: string;
}

export interface ProviderStateOptions {
  keys: KeyStore;
  issuer: () => string;
  verifier: AccessTokenVerifier;
  /** Everything the provider needs but the keys and the issuer. */
  settings: Omit<CreateProviderOptions, 'issuer' | 'signingKeys' | 'verifier'>;
  onServerError: (err: Error) => void;
}

/**
 * The oidc-provider instance, built on first use from the stored signing keys and rebuilt
 * (cheaply) when they change: after a rotation here, or one noticed by `reloadIfChanged`
 * (made by another replica or process).
 */
export class ProviderState {
  private current: Promise<ProviderInstance> | undefined;

  constructor(private readonly o: ProviderStateOptions) {}

  get(): Promise<ProviderInstance> {
    return (this.current ??= this.build());
  }

  /** Rebuilds from the stored keys now. */
  async reload(): Promise<void> {
    const next = await this.build();
    this.current = Promise.resolve(next);
  }

  /** Rebuilds when the stored key set differs from the one in use. */
  async reloadIfChanged(): Promise<void> {
    if (!this.current) return;
    const { version } = await this.current;
    if ((await this.o.keys.version()) !== version) await this.reload();
  }

  private async build(): Promise<ProviderInstance> {
    const version = await this.o.keys.version();
    const stored = await this.o.keys.load();
    const issuer = this.o.issuer();
    this.o.verifier.setKeys(issuer, publicJwks(stored));
    const provider = createProvider({
      ...this.o.settings,
      issuer,
      signingKeys: stored.map((k) => k.jwk),
      verifier: this.o.verifier,
    });
    provider.on('server_error', (_ctx: unknown, err: Error) => this.o.onServerError(err));
    return { provider, callback: provider.callback(), version };
  }
}

/** The public half of each signing key, as published. */
function publicJwks(keys: { jwk: Record<string, unknown> }[]): JSONWebKeySet {
  return {
    keys: keys.map(({ jwk }) => {
      const { kty, crv, x, y, kid, alg, use } = jwk as Record<string, string>;
      return { kty, crv, x, y, kid, alg, use };
    }),
  };
}
