import type { FastifyReply, FastifyRequest } from 'fastify';
import { SignJWT } from 'jose';
import { verifySecret } from '../users/password.js';
import { loginPage, mfaPage } from '../views/pages.js';
import {
  clientName,
  type Form,
  guard,
  html,
  type InteractionDeps,
  load,
  loginSucceeded,
  recordFailure,
} from './interaction.js';

/** The one failure message: it never says which of the two was wrong (no enumeration). */
export const LOGIN_FAILED = 'Invalid username or password';

/** Who the MFA step is for: a short-lived ticket bound to the interaction, signed with a server key. */
export const MFA_TICKET_AUDIENCE = 'flotilla-auth:mfa';

/**
 * `POST /interaction/:uid/login`: throttled, the same Argon2 work whether or not the user
 * exists, one message for every failure; then the MFA step or the end of the sign-in.
 */
export async function postLogin(d: InteractionDeps, req: FastifyRequest, reply: FastifyReply) {
  const loaded = await load(d, req, reply);
  if (!loaded) return reply;
  const { provider, details } = loaded;
  const form = (req.body ?? {}) as Form;
  if (!guard(d, form, details.uid, reply)) return reply;
  const username = (form.username ?? '').slice(0, 64);
  const password = (form.password ?? '').slice(0, 1024);
  const base = {
    uid: details.uid,
    csrf: d.csrf.token(details.uid),
    clientName: await clientName(loaded),
    username,
  };
  const wait = await d.throttle.check(username, req.ip);
  if (wait !== undefined) {
    await d.audit({
      actor: 'anonymous',
      action: 'login.throttled',
      target: username,
      outcome: 'denied',
      details: { ip: req.ip, retryAfter: wait },
    });
    reply.header('retry-after', String(wait));
    return html(reply, 429, loginPage({ ...base, error: 'Too many attempts. Try again later.' }));
  }
  const user = await d.users.byUsername(username);
  // Same Argon2 work whether or not the user exists (no enumeration by timing).
  const ok = await verifySecret(user?.passwordHash ?? (await d.dummyHash()), password);
  if (!user || user.disabled || !ok) {
    const locked = await d.throttle.fail(username, req.ip);
    await recordFailure(d, req, { actor: 'anonymous', action: 'login.failure', target: username, locked });
    return html(reply, 401, loginPage({ ...base, error: LOGIN_FAILED }));
  }
  await d.throttle.success(username, req.ip);
  if (!user.totpSecret) return loginSucceeded(d, req, reply, provider, user, ['pwd']);
  const ticket = await new SignJWT({ uid: details.uid })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user.id)
    .setAudience(MFA_TICKET_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(d.ticketKey);
  return html(reply, 200, mfaPage({ uid: details.uid, csrf: base.csrf, ticket }));
}
