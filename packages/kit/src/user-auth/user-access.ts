import { type Static, type TObject, Type } from '@sinclair/typebox';
import type { ServiceContext } from '../service.js';
import { createUserAuth, type UserAuth } from './user-auth.js';
import { openUserPolicy, type UserPolicy } from './user-policy.js';

/** The settings of a service that serves people: whose tokens it accepts, how it reloads policy. */
export const userAccessSettings = {
  // No default: which auth server to trust is a security decision, never a guess.
  AUTH_ISSUER: Type.String({ format: 'uri', description: 'issuer of the access tokens this API accepts' }),
  AUTH_AUDIENCE: Type.String({ default: 'flixtube-api', minLength: 1 }),
  AUTH_JWKS_URL: Type.Optional(
    Type.String({ format: 'uri', description: 'default: discovered from the issuer' }),
  ),
  POLICY_WATCH: Type.Boolean({ default: true, description: 'reload the policies when their files change' }),
};

type UserAccessConfig = Static<TObject<typeof userAccessSettings>> & { FLOTILLA_POLICY_DIR: string };

/**
 * Token verification and the Cedar policies for a service's people-facing API, from the
 * service's settings; the policy watcher closes with the service.
 *
 * @example
 * const { auth, policy } = await openUserAccess(ctx);
 */
export async function openUserAccess(
  ctx: Pick<ServiceContext, 'audit' | 'log' | 'onClose'> & { config: UserAccessConfig },
): Promise<{ auth: UserAuth; policy: UserPolicy }> {
  const { config } = ctx;
  const auth = createUserAuth({
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    jwksUrl: config.AUTH_JWKS_URL,
  });
  const policy = await openUserPolicy({
    dir: config.FLOTILLA_POLICY_DIR,
    watch: config.POLICY_WATCH,
    audit: (event) => ctx.audit(event),
    onReload: (version) => ctx.log.info({ version }, 'policies reloaded'),
    onReloadError: (err) => ctx.log.warn({ err }, 'policy reload failed; keeping the previous policies'),
  });
  ctx.onClose(() => policy.close());
  return { auth, policy };
}
