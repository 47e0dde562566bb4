import type { FastifyReply, FastifyRequest } from 'fastify';
import { consentPage, loginPage, messagePage } from '../views/pages.js';
import { clientName, finish, type Form, guard, html, type InteractionDeps, load } from './interaction.js';

/** `GET /interaction/:uid`: the sign-in form, or the consent form once signed in. */
export async function showInteraction(d: InteractionDeps, req: FastifyRequest, reply: FastifyReply) {
  const loaded = await load(d, req, reply);
  if (!loaded) return reply;
  const { details } = loaded;
  const f = { uid: details.uid, csrf: d.csrf.token(details.uid), clientName: await clientName(loaded) };
  if (details.prompt.name === 'login') return html(reply, 200, loginPage(f));
  const scopes = (typeof details.params.scope === 'string' ? details.params.scope : '')
    .split(' ')
    .filter(Boolean);
  return html(reply, 200, consentPage({ ...f, scopes }));
}

/** `POST /interaction/:uid/confirm`: grants what the client asked for, and records the consent. */
export async function postConfirm(d: InteractionDeps, req: FastifyRequest, reply: FastifyReply) {
  const loaded = await load(d, req, reply);
  if (!loaded) return reply;
  const { provider, details } = loaded;
  if (!guard(d, (req.body ?? {}) as Form, details.uid, reply)) return reply;
  if (details.prompt.name !== 'consent' || !details.session?.accountId) {
    return html(reply, 400, messagePage('Request refused', 'Nothing to confirm.'));
  }
  const accountId = details.session.accountId;
  const clientId = String(details.params.client_id);
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId });
  if (!grant) return html(reply, 400, messagePage('Request refused', 'The grant no longer exists.'));
  const pd = details.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (pd.missingOIDCScope) grant.addOIDCScope(pd.missingOIDCScope.join(' '));
  if (pd.missingOIDCClaims) grant.addOIDCClaims(pd.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(pd.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  await d.audit({ actor: accountId, action: 'consent.grant', target: clientId, outcome: 'success' });
  return finish(req, reply, provider, { consent: details.grantId ? {} : { grantId } });
}

/** `POST /interaction/:uid/abort`: the user declined; the client gets `access_denied`. */
export async function postAbort(d: InteractionDeps, req: FastifyRequest, reply: FastifyReply) {
  const loaded = await load(d, req, reply);
  if (!loaded) return reply;
  if (!guard(d, (req.body ?? {}) as Form, loaded.details.uid, reply)) return reply;
  return finish(req, reply, loaded.provider, {
    error: 'access_denied',
    error_description: 'End-User aborted interaction',
  });
}
