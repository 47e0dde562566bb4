import type { Fleet } from '../fleet/schema.js';
import type { FleetSecrets } from './secrets.js';

/** Scopes every OpenID provider knows; the API's own scopes are the rest. */
const OIDC_SCOPES = ['openid', 'profile', 'roles', 'offline_access'];

/**
 * The SPA and confidential clients, in the auth service's clients-file format. A
 * confidential client's secret goes in as `client_secret`: the file is written 0600 beside
 * the fleet's other secrets (`<home>/secrets/`, where `flotilla token` reads the same
 * secret), and the auth service hashes it with Argon2id at start.
 */
export function authClients(fleet: Fleet, secrets: FleetSecrets, webOrigin: string) {
  return {
    resources: [
      {
        indicator: fleet.auth.audience,
        scopes: [...new Set(fleet.auth.clients.flatMap((c) => c.scopes))].filter(
          (s) => !OIDC_SCOPES.includes(s),
        ),
      },
    ],
    clients: fleet.auth.clients.map((c) =>
      c.type === 'spa'
        ? {
            client_id: c.id,
            type: 'spa',
            redirect_uris: c.redirectUris ?? [`${webOrigin}/`],
            post_logout_redirect_uris: c.postLogoutRedirectUris ?? [`${webOrigin}/`],
            scope: c.scopes.join(' '),
            resources: [fleet.auth.audience],
          }
        : {
            client_id: c.id,
            type: c.type === 'service' ? 'service' : 'confidential',
            client_secret: secrets.clients[c.id],
            scope: c.scopes.join(' '),
            resources: [fleet.auth.audience],
          },
    ),
  };
}

/** What the web app reads from `/config.json`: where to sign in, as which client. */
export function webConfig(fleet: Fleet, issuer: string, webOrigin: string) {
  const spa = fleet.auth.clients.find((c) => c.type === 'spa');
  return {
    issuer,
    clientId: spa?.id ?? 'flixtube-web',
    redirectUri: spa?.redirectUris?.[0] ?? `${webOrigin}/`,
    postLogoutRedirectUri: spa?.postLogoutRedirectUris?.[0] ?? `${webOrigin}/`,
    scope: spa?.scopes.join(' ') ?? 'openid',
    resource: fleet.auth.audience,
    apiBase: '/api',
  };
}
