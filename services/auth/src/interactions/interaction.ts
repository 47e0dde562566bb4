import type { AuditEvent } from '@flotilla/kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import type { Sealer } from '../keys.js';
import type { LoginThrottle } from '../throttle.js';
import type { User, UserStore } from '../users/store.js';
import { SECURITY_HEADERS } from '../views/html.js';
import { messagePage } from '../views/pages.js';
import type { Csrf } from './csrf.js';

export interface InteractionDeps {
  getProvider: () => Promise<{ provider: Provider }>;
  users: UserStore;
  sealer: Sealer;
  csrf: Csrf;
  ticketKey: Uint8Array;
  throttle: LoginThrottle;
  dummyHash: () => Promise<string>;
  /** Awaited: a page is answered only once its audit record is durable. */
  audit: (e: AuditEvent) => Promise<unknown>;
}

export type Form = Record<string, string | undefined>;
export type Details = Awaited<ReturnType<Provider['interactionDetails']>>;
/** An interaction being answered: the provider and what it asks for. */
export interface Loaded {
  provider: Provider;
  details: Details;
}

/**
 * The client's redirect origin of each interaction being answered. Browsers apply a page's
 * `form-action` to the redirects that follow a form post too, so a sign-in or consent form
 * that ends at the client's (already validated) redirect URI must allow its origin.
 */
const returnOrigins = new WeakMap<FastifyReply, string>();

/** Answers an HTML page with the security headers (and the client's origin in `form-action`). */
export function html(reply: FastifyReply, status: number, body: string) {
  const back = returnOrigins.get(reply);
  const headers = back
    ? {
        ...SECURITY_HEADERS,
        'content-security-policy': SECURITY_HEADERS['content-security-policy']!.replace(
          "form-action 'self'",
          `form-action 'self' ${back}`,
        ),
      }
    : SECURITY_HEADERS;
  return reply.code(status).headers(headers).type('text/html; charset=utf-8').send(body);
}

/** The interaction of the request's `:uid`, or undefined once an expiry page is answered. */
export async function load(
  d: InteractionDeps,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<Loaded | undefined> {
  const { provider } = await d.getProvider();
  try {
    const details = await provider.interactionDetails(req.raw, reply.raw);
    if (details.uid !== (req.params as { uid: string }).uid) throw new Error('uid mismatch');
    const redirect = details.params.redirect_uri;
    if (typeof redirect === 'string' && URL.canParse(redirect))
      returnOrigins.set(reply, new URL(redirect).origin);
    return { provider, details };
  } catch {
    await html(
      reply,
      400,
      messagePage('Sign-in expired', 'This sign-in request has expired. Start again from the application.'),
    );
    return undefined;
  }
}

export async function clientName({ provider, details }: Loaded): Promise<string> {
  const client = await provider.Client.find(String(details.params.client_id));
  return client?.clientName ?? String(details.params.client_id);
}

/** Ends the interaction with `result` and sends the browser back to the provider. */
export async function finish(
  req: FastifyRequest,
  reply: FastifyReply,
  provider: Provider,
  result: InteractionResults,
) {
  const to = await provider.interactionResult(req.raw, reply.raw, result, { mergeWithLastSubmission: false });
  return reply.headers(SECURITY_HEADERS).redirect(to, 303);
}

/** Records a sign-in and ends the interaction with it (`amr`: RFC 8176 methods). */
export async function loginSucceeded(
  d: InteractionDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  provider: Provider,
  user: User,
  amr: string[],
) {
  await d.audit({
    actor: user.id,
    action: 'login.success',
    target: user.username,
    outcome: 'success',
    details: { amr, ip: req.ip },
  });
  return finish(req, reply, provider, { login: { accountId: user.id, amr } });
}

/** Whether the form carries this interaction's CSRF token; answers 403 when it does not. */
export function guard(d: InteractionDeps, form: Form, uid: string, reply: FastifyReply): boolean {
  if (d.csrf.valid(uid, form.csrf)) return true;
  void html(reply, 403, messagePage('Request refused', 'The form was not valid. Go back and try again.'));
  return false;
}

/** Records a failed attempt, and the lockout it triggered if any. */
export async function recordFailure(
  d: InteractionDeps,
  req: FastifyRequest,
  o: { actor: string; action: string; target: string; locked: number | undefined },
): Promise<void> {
  await d.audit({
    actor: o.actor,
    action: o.action,
    target: o.target,
    outcome: 'failure',
    details: { ip: req.ip },
  });
  if (o.locked) {
    await d.audit({
      actor: o.actor,
      action: 'login.lockout',
      target: o.target,
      outcome: 'denied',
      details: { ip: req.ip, seconds: o.locked },
    });
  }
}
