import type { AllowList } from '@flotilla/policy';
import type { FastifyInstance } from 'fastify';
import type { BaseConfig } from '../config/index.js';
import { ConfigError, FlotillaError } from '../errors/index.js';
import { ControlClient } from '../contracts/control-api/workload-client.js';
import { peerOfSocket } from '../identity/peer.js';
import type { ServiceContext } from '../service/index.js';
import { ServiceAuthz } from './service-authz.js';

/**
 * Checks every inbound mTLS call against policy before anything else runs: the caller
 * is the service in its certificate, the resource is the matched route. A denial is a
 * 403 problem and an audit event.
 */
export async function authorizeServiceCalls(
  app: FastifyInstance,
  ctx: ServiceContext,
  config: BaseConfig,
): Promise<ServiceAuthz> {
  const identity = ctx.identity;
  const control =
    config.FLOTILLA_CONTROL_URL && identity
      ? new ControlClient(config.FLOTILLA_CONTROL_URL, config.FLOTILLA_TRUST_DOMAIN, () =>
          ctx.client.agentFor('control'),
        )
      : undefined;
  const authz = await ServiceAuthz.load({
    service: ctx.name,
    trustDomain: config.FLOTILLA_TRUST_DOMAIN,
    dir: config.FLOTILLA_POLICY_DIR,
    allowedCalls: parseAllowedCalls(config.FLOTILLA_ALLOWED_CALLS),
    ...(control && identity
      ? {
          bundle: {
            fetch: (etag, wait, signal) => control.policyBundle(identity.current(), etag, wait, signal),
            keys: async () => (await control.bundle(identity.current())).policyKeys ?? [],
            pollMs: config.FLOTILLA_POLICY_POLL_MS,
            longPollSeconds: config.FLOTILLA_POLICY_LONG_POLL_S,
          },
        }
      : {}),
    onDecision: (entry) => ctx.log.info({ decision: entry }, 'policy decision'),
    onReloadError: (err) => ctx.log.warn({ err }, 'policy reload failed; keeping the previous policies'),
    onBundle: (version) => ctx.log.info({ version }, 'policy bundle applied'),
    onFallback: (reason) =>
      ctx.log.warn(
        { reason, dir: config.FLOTILLA_POLICY_DIR },
        'no policy bundle from the control plane; using FLOTILLA_POLICY_DIR until one is signed',
      ),
  }).catch((err: unknown) => {
    throw new ConfigError(
      'FLOTILLA_POLICY_DIR',
      `FLOTILLA_POLICY_DIR: ${err instanceof Error ? err.message : String(err)}`,
    );
  });
  authz.watch();
  // A callback hook: an allowed call (and a request without a client certificate, such as
  // the gateway's edge traffic) goes on with no promise; only a denial waits, for its audit.
  app.addHook('onRequest', (request, _reply, done) => {
    const peer = peerOfSocket(request.raw.socket);
    if (!peer) return done();
    const route = request.routeOptions.url;
    if (route === undefined) return done(); // no route: the 404 handler answers
    const decision = authz.check(peer.service, request.method, route);
    if (decision.decision === 'allow') return done();
    const denied = new FlotillaError(
      'FLT_FORBIDDEN',
      `${peer.service} may not call ${request.method} ${route}`,
    );
    ctx
      .audit({
        actor: peer.id,
        action: 'policy.deny',
        target: `${ctx.name} ${request.method} ${route}`,
        outcome: 'denied',
        ...(decision.errors.length ? { reason: decision.errors.join('; ') } : {}),
        details: { policies: decision.reasons },
      })
      .then(
        () => done(denied),
        (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
      );
  });
  return authz;
}

function parseAllowedCalls(json: string): AllowList {
  try {
    const value = JSON.parse(json) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new Error('must be an object');
    return value as AllowList;
  } catch (err) {
    throw new ConfigError(
      'FLOTILLA_ALLOWED_CALLS',
      `FLOTILLA_ALLOWED_CALLS is not valid: ${(err as Error).message}`,
    );
  }
}
