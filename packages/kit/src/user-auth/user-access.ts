import { type Static, type TObject, Type } from '@sinclair/typebox';
import type { AuditEvent } from '../audit/index.js';
import type { ServiceContext } from '../service/index.js';
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
  POLICY_WATCH: Type.Boolean({
    default: true,
    description: 'without a control plane: reload FLOTILLA_POLICY_DIR when its files change',
  }),
};

type UserAccessConfig = Static<TObject<typeof userAccessSettings>> & { FLOTILLA_POLICY_DIR: string };

/**
 * Token verification and the Cedar policies for a service's people-facing API, from the
 * service's settings. The policies are the ones in force in the service (`ctx.policy`),
 * or without an identity FLOTILLA_POLICY_DIR, watched; the watcher closes with the service.
 *
 * @example
 * const { auth, policy } = await openUserAccess(ctx);
 */
export async function openUserAccess(
  ctx: Pick<ServiceContext, 'audit' | 'log' | 'onClose' | 'policy'> & { config: UserAccessConfig },
): Promise<{ auth: UserAuth; policy: UserPolicy }> {
  const { config } = ctx;
  const auth = createUserAuth({
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    jwksUrl: config.AUTH_JWKS_URL,
  });
  const audit = (event: AuditEvent) => ctx.audit(event);
  // With a workload identity the service already runs the fleet's policies (the control
  // plane's signed bundle, hot-reloaded): people are judged by the same set as services.
  const policy = await openUserPolicy(
    ctx.policy
      ? { engine: ctx.policy, audit }
      : {
          dir: config.FLOTILLA_POLICY_DIR,
          watch: config.POLICY_WATCH,
          audit,
          onReload: (version) => ctx.log.info({ version }, 'policies reloaded'),
          onReloadError: (err) =>
            ctx.log.warn({ err }, 'policy reload failed; keeping the previous policies'),
        },
  );
  ctx.onClose(() => policy.close());
  return { auth, policy };
}
