import type { AuditEvent, ServiceApp } from '@flotilla/kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { jwtVerify, SignJWT } from 'jose';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import type { Sealer } from '../keys.js';
import { verifySecondFactor } from '../mfa/totp.js';
import type { LoginThrottle } from '../throttle.js';
import { verifySecret } from '../users/password.js';
import type { User, UserStore } from '../users/store.js';
import { SECURITY_HEADERS } from '../views/html.js';
import { consentPage, loginPage, messagePage, mfaPage } from '../views/pages.js';
import type { Csrf } from './csrf.js';

/** The one failure message: it never says which of the two was wrong (no enumeration). */
export const LOGIN_FAILED = 'Invalid username or password';
const MFA_FAILED = 'Invalid verification code';

export interface InteractionDeps {
  getProvider: () => Promise<{ provider: Provider }>;
  users: UserStore;
  sealer: Sealer;
  csrf: Csrf;
  ticketKey: Uint8Array;
  throttle: LoginThrottle;
  dummyHash: () => Promise<string>;
  audit: (e: AuditEvent) => Promise<unknown>;
}

type Form = Record<string, string | undefined>;
type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/**
 * The client's redirect origin of each interaction being answered. Browsers apply a page's
 * `form-action` to the redirects that follow a form post too, so a sign-in or consent form
 * that ends at the client's (already validated) redirect URI must allow its origin.
 */
const returnOrigins = new WeakMap<FastifyReply, string>();

function html(reply: FastifyReply, status: number, body: string) {
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

export function registerInteractions(app: ServiceApp, d: InteractionDeps): void {
  // Awaited: the page is answered only once its audit record is durable.
  const record = (e: AuditEvent) => d.audit(e);

  async function load(
    req: FastifyRequest,
    reply: FastifyReply,
  ): Promise<{ provider: Provider; details: Details } | undefined> {
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

  async function clientName(provider: Provider, details: Details): Promise<string> {
    const client = await provider.Client.find(String(details.params.client_id));
    return client?.clientName ?? String(details.params.client_id);
  }

  async function finish(
    req: FastifyRequest,
    reply: FastifyReply,
    provider: Provider,
    result: InteractionResults,
  ) {
    const to = await provider.interactionResult(req.raw, reply.raw, result, {
      mergeWithLastSubmission: false,
    });
    return reply.headers(SECURITY_HEADERS).redirect(to, 303);
  }

  async function loginSucceeded(
    req: FastifyRequest,
    reply: FastifyReply,
    provider: Provider,
    user: User,
    amr: string[],
  ) {
    await record({
      actor: user.id,
      action: 'login.success',
      target: user.username,
      outcome: 'success',
      details: { amr, ip: req.ip },
    });
    return finish(req, reply, provider, { login: { accountId: user.id, amr } });
  }

  function guard(form: Form, uid: string, reply: FastifyReply): boolean {
    if (d.csrf.valid(uid, form.csrf)) return true;
    void html(reply, 403, messagePage('Request refused', 'The form was not valid. Go back and try again.'));
    return false;
  }

  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 8192 },
      (_r, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );

    scope.get('/interaction/:uid', async (req, reply) => {
      const loaded = await load(req, reply);
      if (!loaded) return reply;
      const { provider, details } = loaded;
      const f = {
        uid: details.uid,
        csrf: d.csrf.token(details.uid),
        clientName: await clientName(provider, details),
      };
      if (details.prompt.name === 'login') return html(reply, 200, loginPage(f));
      const scopes = (typeof details.params.scope === 'string' ? details.params.scope : '')
        .split(' ')
        .filter(Boolean);
      return html(reply, 200, consentPage({ ...f, scopes }));
    });

    scope.post('/interaction/:uid/login', async (req, reply) => {
      const loaded = await load(req, reply);
      if (!loaded) return reply;
      const { provider, details } = loaded;
      const form = (req.body ?? {}) as Form;
      if (!guard(form, details.uid, reply)) return reply;
      const username = (form.username ?? '').slice(0, 64);
      const password = (form.password ?? '').slice(0, 1024);
      const base = {
        uid: details.uid,
        csrf: d.csrf.token(details.uid),
        clientName: await clientName(provider, details),
        username,
      };
      const wait = await d.throttle.check(username, req.ip);
      if (wait !== undefined) {
        await record({
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
        await record({
          actor: 'anonymous',
          action: 'login.failure',
          target: username,
          outcome: 'failure',
          details: { ip: req.ip },
        });
        if (locked) {
          await record({
            actor: 'anonymous',
            action: 'login.lockout',
            target: username,
            outcome: 'denied',
            details: { ip: req.ip, seconds: locked },
          });
        }
        return html(reply, 401, loginPage({ ...base, error: LOGIN_FAILED }));
      }
      await d.throttle.success(username, req.ip);
      if (!user.totpSecret) return loginSucceeded(req, reply, provider, user, ['pwd']);
      const ticket = await new SignJWT({ uid: details.uid })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(user.id)
        .setAudience('flotilla-auth:mfa')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(d.ticketKey);
      return html(reply, 200, mfaPage({ uid: details.uid, csrf: base.csrf, ticket }));
    });

    scope.post('/interaction/:uid/mfa', async (req, reply) => {
      const loaded = await load(req, reply);
      if (!loaded) return reply;
      const { provider, details } = loaded;
      const form = (req.body ?? {}) as Form;
      if (!guard(form, details.uid, reply)) return reply;
      let sub: string | undefined;
      try {
        const { payload } = await jwtVerify(form.ticket ?? '', d.ticketKey, {
          algorithms: ['HS256'],
          audience: 'flotilla-auth:mfa',
        });
        if (payload.uid === details.uid) sub = payload.sub;
      } catch {
        sub = undefined;
      }
      const user = sub ? await d.users.byId(sub) : undefined;
      if (!user || user.disabled) {
        return html(reply, 400, messagePage('Sign-in expired', 'Start again from the application.'));
      }
      const wait = await d.throttle.check(user.username, req.ip);
      const f = { uid: details.uid, csrf: d.csrf.token(details.uid), ticket: form.ticket ?? '' };
      if (wait !== undefined) {
        reply.header('retry-after', String(wait));
        return html(reply, 429, mfaPage({ ...f, error: 'Too many attempts. Try again later.' }));
      }
      const used = await verifySecondFactor(d.users, d.sealer, user, (form.code ?? '').slice(0, 20));
      if (!used) {
        const locked = await d.throttle.fail(user.username, req.ip);
        await record({
          actor: user.id,
          action: 'mfa.failure',
          target: user.username,
          outcome: 'failure',
          details: { ip: req.ip },
        });
        if (locked) {
          await record({
            actor: user.id,
            action: 'login.lockout',
            target: user.username,
            outcome: 'denied',
            details: { ip: req.ip, seconds: locked },
          });
        }
        return html(reply, 401, mfaPage({ ...f, error: MFA_FAILED }));
      }
      await d.throttle.success(user.username, req.ip);
      await record({
        actor: user.id,
        action: 'mfa.use',
        target: user.username,
        outcome: 'success',
        details: { method: used },
      });
      // RFC 8176 §2: "otp" for a one-time password; a recovery code is a second factor ("mfa").
      return loginSucceeded(req, reply, provider, user, used === 'otp' ? ['pwd', 'otp'] : ['pwd', 'mfa']);
    });

    scope.post('/interaction/:uid/confirm', async (req, reply) => {
      const loaded = await load(req, reply);
      if (!loaded) return reply;
      const { provider, details } = loaded;
      if (!guard((req.body ?? {}) as Form, details.uid, reply)) return reply;
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
      await record({ actor: accountId, action: 'consent.grant', target: clientId, outcome: 'success' });
      return finish(req, reply, provider, { consent: details.grantId ? {} : { grantId } });
    });

    scope.post('/interaction/:uid/abort', async (req, reply) => {
      const loaded = await load(req, reply);
      if (!loaded) return reply;
      const { provider, details } = loaded;
      if (!guard((req.body ?? {}) as Form, details.uid, reply)) return reply;
      return finish(req, reply, provider, {
        error: 'access_denied',
        error_description: 'End-User aborted interaction',
      });
    });
  });
}
