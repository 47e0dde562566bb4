import type { JsonWebKey } from 'node:crypto';
import type { ServiceApp, ServiceContext } from '@flotilla/kit';
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { PolicyBundlePublisher } from './publisher.js';
import { policyBundleRoutes, policyKeyRoutes } from './routes.js';
import { PolicyKeyring } from './signing-key.js';

export { PolicyBundlePublisher, type SignedPolicyBundle } from './publisher.js';
export { bundleEtag } from './routes.js';
export { loadPolicySigningKey, PolicyKeyring, type PolicySigningKey } from './signing-key.js';

export interface PolicyDistribution {
  publisher: PolicyBundlePublisher;
  /** The public keys that verify the bundle, published in `/v1/bundle` as `policyKeys`. */
  publicKeys: () => JsonWebKey[];
}

/**
 * Policy distribution: signs `FLOTILLA_POLICY_DIR` as a bundle, re-signs on every valid
 * change, and serves it at `GET /v1/policy/bundle`; `POST /v1/policy/keys/rotate`
 * (operator) moves signing to a new key.
 */
export async function startPolicyDistribution(
  app: ServiceApp,
  ctx: ServiceContext,
  deps: {
    kek: Buffer;
    isAdmin: (request: FastifyRequest) => boolean;
    requireAdmin: preHandlerAsyncHookHandler;
    debounceMs?: number;
  },
): Promise<PolicyDistribution> {
  const keyring = await PolicyKeyring.open(ctx.db, deps.kek);
  const publisher = new PolicyBundlePublisher({
    db: ctx.db,
    dir: ctx.config.FLOTILLA_POLICY_DIR,
    key: () => keyring.active,
    log: ctx.log,
    ...(deps.debounceMs !== undefined ? { debounceMs: deps.debounceMs } : {}),
  });
  await publisher.start();
  ctx.onClose(() => publisher.close());
  policyBundleRoutes(app, {
    current: () => publisher.current(),
    waitForNewer: (version, ms) => publisher.waitForNewer(version, ms),
    isAdmin: deps.isAdmin,
  });
  // Held long polls must not hold up the server's close.
  app.addHook('preClose', async () => publisher.release());
  policyKeyRoutes(app, ctx, { keyring, publisher, requireAdmin: deps.requireAdmin });
  return { publisher, publicKeys: () => keyring.publicKeys() };
}
