import type { FastifyReply, FastifyRequest } from 'fastify';
import { jwtVerify } from 'jose';
import { verifySecondFactor } from '../mfa/totp.js';
import type { User } from '../users/store.js';
import { messagePage, mfaPage } from '../views/pages.js';
import {
  type Form,
  guard,
  html,
  type InteractionDeps,
  type Loaded,
  load,
  loginSucceeded,
  recordFailure,
} from './interaction.js';
import { MFA_TICKET_AUDIENCE } from './login.js';

const MFA_FAILED = 'Invalid verification code';

/** The user the ticket of the password step names, if it is valid for this interaction. */
async function ticketUser(
  d: InteractionDeps,
  { details }: Loaded,
  ticket: string,
): Promise<User | undefined> {
  let sub: string | undefined;
  try {
    const { payload } = await jwtVerify(ticket, d.ticketKey, {
      algorithms: ['HS256'],
      audience: MFA_TICKET_AUDIENCE,
    });
    if (payload.uid === details.uid) sub = payload.sub;
  } catch {
    sub = undefined;
  }
  const user = sub ? await d.users.byId(sub) : undefined;
  return user && !user.disabled ? user : undefined;
}

/** `POST /interaction/:uid/mfa`: the second factor (TOTP or a recovery code), throttled like the password. */
export async function postMfa(d: InteractionDeps, req: FastifyRequest, reply: FastifyReply) {
  const loaded = await load(d, req, reply);
  if (!loaded) return reply;
  const { provider, details } = loaded;
  const form = (req.body ?? {}) as Form;
  if (!guard(d, form, details.uid, reply)) return reply;
  const user = await ticketUser(d, loaded, form.ticket ?? '');
  if (!user) return html(reply, 400, messagePage('Sign-in expired', 'Start again from the application.'));
  const wait = await d.throttle.check(user.username, req.ip);
  const f = { uid: details.uid, csrf: d.csrf.token(details.uid), ticket: form.ticket ?? '' };
  if (wait !== undefined) {
    reply.header('retry-after', String(wait));
    return html(reply, 429, mfaPage({ ...f, error: 'Too many attempts. Try again later.' }));
  }
  const used = await verifySecondFactor(d.users, d.sealer, user, (form.code ?? '').slice(0, 20));
  if (!used) {
    const locked = await d.throttle.fail(user.username, req.ip);
    await recordFailure(d, req, { actor: user.id, action: 'mfa.failure', target: user.username, locked });
    return html(reply, 401, mfaPage({ ...f, error: MFA_FAILED }));
  }
  await d.throttle.success(user.username, req.ip);
  await d.audit({
    actor: user.id,
    action: 'mfa.use',
    target: user.username,
    outcome: 'success',
    details: { method: used },
  });
  // RFC 8176 §2: "otp" for a one-time password; a recovery code is a second factor ("mfa").
  return loginSucceeded(d, req, reply, provider, user, used === 'otp' ? ['pwd', 'otp'] : ['pwd', 'mfa']);
}
