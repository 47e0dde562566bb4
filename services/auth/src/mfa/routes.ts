import { type AuditEvent, FlotillaError, type ServiceApp, Type } from '@flotilla/kit';
import { AccessTokenError } from '@flotilla/kit/contracts';
import type { FastifyRequest } from 'fastify';
import { type AccessTokenVerifier, revocationKeys } from '../provider/access-tokens.js';
import type { Sealer } from '../keys.js';
import type { Revocations } from '../revocations/store.js';
import type { Argon2Params } from '../users/password.js';
import type { User, UserStore } from '../users/store.js';
import { confirmEnrollment, startEnrollment } from './totp.js';

export interface MfaRouteDeps {
  users: UserStore;
  sealer: Sealer;
  argon2: Argon2Params;
  verifier: AccessTokenVerifier;
  revocations: Revocations;
  issuerName: string;
  audit: (e: AuditEvent) => Promise<unknown>;
}

/** Self-service TOTP enrollment for a signed-in user (bearer access token from this issuer). */
export function registerMfaRoutes(app: ServiceApp, d: MfaRouteDeps): void {
  async function caller(req: FastifyRequest): Promise<User> {
    const auth = req.headers.authorization;
    if (!auth?.startsWith('Bearer '))
      throw new FlotillaError('FLT_UNAUTHENTICATED', 'a bearer access token is required', {
        headers: { 'www-authenticate': 'Bearer' },
      });
    const refused = (code: 'FLT_TOKEN_INVALID' | 'FLT_TOKEN_EXPIRED' | 'FLT_TOKEN_REVOKED') =>
      new FlotillaError(code, 'invalid access token', {
        headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
      });
    let claims;
    try {
      claims = await d.verifier.verify(auth.slice(7));
    } catch (err) {
      // One answer for every invalid token; only the stable code says expired or not.
      if (err instanceof AccessTokenError && err.code === 'FLT_UNAVAILABLE') throw err;
      throw refused(
        err instanceof AccessTokenError && err.code === 'FLT_TOKEN_EXPIRED'
          ? 'FLT_TOKEN_EXPIRED'
          : 'FLT_TOKEN_INVALID',
      );
    }
    if (await d.revocations.isRevoked(revocationKeys(claims))) throw refused('FLT_TOKEN_REVOKED');
    const user = await d.users.byId(claims.sub);
    if (!user || user.disabled) throw refused('FLT_TOKEN_REVOKED');
    return user;
  }

  app.post('/v1/mfa/enroll', async (req, reply) => {
    const user = await caller(req);
    if (user.totpSecret)
      throw new FlotillaError('FLT_CONFLICT', 'MFA is already enrolled; an admin can reset it');
    const enrollment = await startEnrollment(d.users, d.sealer, user, d.issuerName);
    return reply.header('cache-control', 'no-store').send(enrollment);
  });

  app.post(
    '/v1/mfa/confirm',
    {
      schema: {
        body: Type.Object(
          { code: Type.String({ minLength: 6, maxLength: 10 }) },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const user = await caller(req);
      const codes = await confirmEnrollment(d.users, d.sealer, d.argon2, user, req.body.code);
      if (!codes) {
        await d.audit({ actor: user.id, action: 'mfa.enroll', target: user.username, outcome: 'failure' });
        throw new FlotillaError('FLT_BAD_REQUEST', 'invalid code or no enrollment in progress');
      }
      await d.audit({ actor: user.id, action: 'mfa.enroll', target: user.username, outcome: 'success' });
      return reply.header('cache-control', 'no-store').send({ recoveryCodes: codes });
    },
  );
}
