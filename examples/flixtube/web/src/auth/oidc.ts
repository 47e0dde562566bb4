import * as oauth from 'oauth4webapi';
import type { AppConfig } from '../config.js';
import {
  type KeyValueStore,
  safeReturnTo,
  savePending,
  signedInMarker,
  takePending,
} from './redirect-state.js';
import type { Session } from './session.js';

// The auth server refused a prompt=none request: the user must sign in interactively.
const SILENT_REFUSALS = new Set([
  'login_required',
  'consent_required',
  'interaction_required',
  'account_selection_required',
]);

export type StartResult =
  | { kind: 'signed-in'; session: Session; returnTo: string }
  | { kind: 'signed-out' }
  | { kind: 'redirecting' };

/**
 * OpenID Connect for a browser app with oauth4webapi: authorization code + PKCE (S256),
 * state and nonce, a public client (no secret). Tokens stay in memory; see redirect-state.ts
 * for what briefly lives in sessionStorage during the redirect.
 */
export class OidcClient {
  readonly #config: AppConfig;
  readonly #client: oauth.Client;
  readonly #store: KeyValueStore;
  #as: oauth.AuthorizationServer | undefined;

  constructor(config: AppConfig, store: KeyValueStore = sessionStorage) {
    this.#config = config;
    this.#client = { client_id: config.clientId };
    this.#store = store;
  }

  #options(): { [oauth.allowInsecureRequests]?: boolean } {
    // Only a developer's own machine may talk to the auth server without TLS (config.ts checks).
    return new URL(this.#config.issuer).protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {};
  }

  async #server(): Promise<oauth.AuthorizationServer> {
    if (!this.#as) {
      const issuer = new URL(this.#config.issuer);
      this.#as = await oauth.processDiscoveryResponse(
        issuer,
        await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...this.#options() }),
      );
    }
    return this.#as;
  }

  /**
   * At page load: finishes a sign-in coming back from the auth server, or tries a silent
   * one (`prompt=none`) if this tab was signed in before the reload, or reports signed-out.
   */
  async start(location: URL): Promise<StartResult> {
    const params = location.searchParams;
    if (params.has('state') && (params.has('code') || params.has('error'))) {
      return this.#callback(location);
    }
    if (signedInMarker.present(this.#store)) {
      await this.signIn(location.hash || '#/', { silent: true });
      return { kind: 'redirecting' };
    }
    return { kind: 'signed-out' };
  }

  /** Sends the browser to the auth server. */
  async signIn(returnTo: string, opts: { silent?: boolean } = {}): Promise<void> {
    const as = await this.#server();
    if (!as.authorization_endpoint) throw new Error('the auth server has no authorization endpoint');
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    savePending(this.#store, {
      state,
      nonce,
      codeVerifier,
      returnTo: safeReturnTo(returnTo),
      silent: opts.silent === true,
      createdAt: Date.now(),
    });
    const url = new URL(as.authorization_endpoint);
    url.searchParams.set('client_id', this.#config.clientId);
    url.searchParams.set('redirect_uri', this.#config.redirectUri);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', this.#config.scope);
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
    url.searchParams.set('code_challenge_method', 'S256');
    url.searchParams.set('state', state);
    url.searchParams.set('nonce', nonce);
    if (this.#config.resource) url.searchParams.set('resource', this.#config.resource);
    if (opts.silent) url.searchParams.set('prompt', 'none');
    window.location.assign(url.href);
  }

  async #callback(location: URL): Promise<StartResult> {
    // Read and delete at once: a verifier is good for one exchange only.
    const pending = takePending(this.#store);
    if (!pending) return { kind: 'signed-out' };
    const as = await this.#server();
    let params: URLSearchParams;
    try {
      params = oauth.validateAuthResponse(as, this.#client, location, pending.state);
    } catch (err) {
      if (
        err instanceof oauth.AuthorizationResponseError &&
        pending.silent &&
        SILENT_REFUSALS.has(err.error)
      ) {
        signedInMarker.forget(this.#store);
        return { kind: 'signed-out' };
      }
      throw err;
    }
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      this.#client,
      oauth.None(),
      params,
      this.#config.redirectUri,
      pending.codeVerifier,
      this.#options(),
    );
    const result = await oauth.processAuthorizationCodeResponse(as, this.#client, response, {
      expectedNonce: pending.nonce,
      requireIdToken: true,
    });
    const claims = oauth.getValidatedIdTokenClaims(result);
    if (!claims) throw new Error('the auth server returned no ID token');
    signedInMarker.remember(this.#store);
    const name = typeof claims.preferred_username === 'string' ? claims.preferred_username : claims.sub;
    const roles = Array.isArray(claims.roles)
      ? claims.roles.filter((r): r is string => typeof r === 'string')
      : [];
    return {
      kind: 'signed-in',
      returnTo: pending.returnTo,
      session: {
        accessToken: result.access_token,
        idToken: result.id_token,
        expiresAt: Date.now() + (result.expires_in ?? 300) * 1000,
        user: { sub: claims.sub, name, roles },
      },
    };
  }

  /**
   * RP-initiated logout: ends the auth server's session too, so the next visit cannot
   * sign in silently. The caller drops the in-memory session first.
   */
  async signOut(session: Session | undefined): Promise<void> {
    signedInMarker.forget(this.#store);
    const as = await this.#server();
    if (!as.end_session_endpoint) return;
    const url = new URL(as.end_session_endpoint);
    url.searchParams.set('client_id', this.#config.clientId);
    url.searchParams.set('post_logout_redirect_uri', this.#config.postLogoutRedirectUri);
    if (session?.idToken) url.searchParams.set('id_token_hint', session.idToken);
    window.location.assign(url.href);
  }
}
