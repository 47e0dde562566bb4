import { AsyncLocalStorage } from 'node:async_hooks';
import type { AuditEvent } from '@flotilla/kit';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Revocations } from '../revocations/store.js';

type Audit = (event: AuditEvent) => Promise<unknown>;
type OAuthError = Error & { error?: string; error_description?: string; statusCode?: number };

const CLIENT_AUTH_ERRORS = new Set(['invalid_client']);
const GRANT_ACTIONS: Record<string, string> = {
  authorization_code: 'token.issue',
  client_credentials: 'token.issue',
  refresh_token: 'token.refresh',
  'urn:ietf:params:oauth:grant-type:token-exchange': 'token.exchange',
};

function grantType(ctx: KoaContextWithOIDC): string {
  const g = (ctx.oidc?.params as { grant_type?: unknown } | undefined)?.grant_type;
  return typeof g === 'string' ? g : 'unknown';
}

/** The audit records (and revocation events) a provider request has started, so that its answer can wait for them. */
const inFlight = new AsyncLocalStorage<Promise<unknown>[]>();

/**
 * Audits what oidc-provider does (never a token or secret value: ids only) and turns
 * its revocations into revocation events. The provider's events are synchronous, so each
 * record joins its request's list and the request's answer waits until all of them are
 * durable: nothing is acknowledged that the audit trail could lose, and a record that
 * cannot be written fails the request instead of going missing.
 */
export function wireProviderEvents(provider: Provider, audit: Audit, revocations: Revocations): void {
  provider.use(async (_ctx, next) => {
    const records: Promise<unknown>[] = [];
    await inFlight.run(records, next);
    await Promise.all(records);
  });
  const hold = (written: Promise<unknown>) => {
    const records = inFlight.getStore();
    if (records) records.push(written);
    else void written.catch(() => undefined); // not from a request: nothing to hold back
  };
  const record = (e: AuditEvent) => hold(audit(e));

  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const g = grantType(ctx);
    const at = ctx.oidc.entities.AccessToken ?? ctx.oidc.entities.ClientCredentials;
    record({
      actor: ctx.oidc.client?.clientId ?? 'anonymous',
      action: GRANT_ACTIONS[g] ?? 'token.issue',
      target: ctx.oidc.entities.Account?.accountId ?? ctx.oidc.client?.clientId,
      outcome: 'success',
      details: {
        grantType: g,
        ...(at?.jti ? { jti: at.jti } : {}),
        ...(at && 'grantId' in at && at.grantId ? { grantId: at.grantId } : {}),
      },
    });
  });

  const failure = (route: string) => (ctx: KoaContextWithOIDC, err: OAuthError) => {
    const code = err.error ?? 'server_error';
    // oidc-provider's own refusal of JWT introspection/revocation is answered by our middleware.
    if (code === 'unsupported_token_type') return;
    const clientAuth = CLIENT_AUTH_ERRORS.has(code);
    record({
      actor: ctx.oidc?.client?.clientId ?? clientIdHint(ctx) ?? 'anonymous',
      action: clientAuth ? 'client.authenticate' : `${route}.error`,
      target: route === 'grant' ? grantType(ctx) : route,
      outcome: 'failure',
      reason: code,
      details: { description: err.error_description },
    });
  };
  provider.on('grant.error', failure('grant'));
  provider.on('introspection.error', failure('introspection'));
  provider.on('revocation.error', failure('revocation'));
  provider.on('authorization.error', failure('authorization'));
  provider.on('userinfo.error', failure('userinfo'));

  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    const sub = ctx.oidc?.entities.Account?.accountId;
    const clientId = ctx.oidc?.client?.clientId;
    record({ actor: clientId ?? 'anonymous', action: 'grant.revoke', target: grantId, outcome: 'success' });
    // The revocation is answered once its event is recorded for the gateways.
    hold(
      revocations.revoke({
        type: 'grant',
        grantId,
        ...(sub ? { sub } : {}),
        ...(clientId ? { clientId } : {}),
      }),
    );
  });

  auditDestroyedTokens(provider, record);
}

/**
 * RFC 7009 revocation of an opaque token. Its id is its value, so neither the audit nor
 * the event carries it: the grant revocation that follows is what gateways act on.
 */
function auditDestroyedTokens(provider: Provider, record: (e: AuditEvent) => void): void {
  for (const kind of ['refresh_token', 'access_token', 'client_credentials'] as const) {
    (provider as unknown as NodeJS.EventEmitter).on(
      `${kind}.destroyed`,
      (token: { grantId?: string; clientId?: string }) => {
        record({
          actor: token.clientId ?? 'anonymous',
          action: 'token.revoke',
          target: token.grantId ?? kind,
          outcome: 'success',
          details: { kind },
        });
      },
    );
  }
}

function clientIdHint(ctx: KoaContextWithOIDC): string | undefined {
  const auth = ctx.get?.('authorization');
  if (auth?.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const id = decoded.split(':')[0];
    if (id) return decodeURIComponent(id).slice(0, 128);
  }
  const p = (ctx.oidc?.params as { client_id?: unknown } | undefined)?.client_id;
  return typeof p === 'string' ? p.slice(0, 128) : undefined;
}
