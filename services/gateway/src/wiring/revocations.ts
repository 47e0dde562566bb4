import {
  RedisRevocationSubscriber,
  type RevocationSubscriber,
  SseRevocationSubscriber,
} from '@flotilla/kit/contracts';
import type { GatewayContext } from '../config.js';
import { Denylist } from '../revocation/denylist.js';
import type { GatewayDeps } from './gateway-deps.js';

/** How often expired denylist entries are dropped. */
const SWEEP_MS = 60_000;

/**
 * The denylist, fed by the auth server's revocation events: from Redis when REDIS_URL is
 * set, else from its SSE stream (over mTLS with a workload identity). Readiness fails while
 * the events are not connected; with neither source, revoked tokens stay valid until they
 * expire, and the log says so.
 */
export async function startRevocations(
  ctx: GatewayContext,
  deps: GatewayDeps,
  authenticates: boolean,
): Promise<{ denylist: Denylist; revocations: RevocationSubscriber | undefined }> {
  const config = ctx.config;
  const denylist = new Denylist(config.DENYLIST_TTL_S * 1000);
  const sweep = setInterval(() => denylist.sweep(), SWEEP_MS);
  sweep.unref();
  ctx.onClose(() => clearInterval(sweep));
  const revocations = deps.revocations ?? subscriber(ctx);
  if (revocations) {
    await revocations.start((event) => denylist.apply(event));
    ctx.onClose(() => revocations.close());
    ctx.addCheck('revocations', () => {
      if (!revocations.connected) throw new Error('revocation events are not connected');
    });
  } else if (authenticates) {
    ctx.log.warn(
      'no revocation source (REDIS_URL or REVOCATION_EVENTS_URL): revoked tokens stay valid until they expire',
    );
  }
  return { denylist, revocations };
}

function subscriber(ctx: GatewayContext): RevocationSubscriber | undefined {
  const config = ctx.config;
  if (config.REDIS_URL)
    return new RedisRevocationSubscriber({ url: config.REDIS_URL, ttlSec: config.DENYLIST_TTL_S });
  if (config.REVOCATION_EVENTS_URL)
    return new SseRevocationSubscriber({
      url: config.REVOCATION_EVENTS_URL,
      // With a workload identity the auth server serves its stream only over mTLS.
      ...(ctx.identity ? { dispatcher: () => ctx.client.agentFor('auth') } : {}),
    });
  return undefined;
}
