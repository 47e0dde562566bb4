export { createGatewayService, type GatewayDeps } from './gateway.js';
export { startGateway, type RunningGateway, type StartGatewayOptions } from './start-gateway.js';
export { gatewayConfigSchema } from './config.js';
export type { Principal } from './auth/principal.js';
export type { CallerCredential } from './forward/caller-credential.js';
export { forwardOriginalToken } from './forward/caller-credential.js';
export {
  type Upstream,
  type UpstreamReceiver,
  type UpstreamRequest,
  type UpstreamResponse,
} from './forward/upstream.js';
export { UndiciUpstream } from './forward/undici-upstream.js';
export {
  type PolicyDecider,
  type PolicyDecision,
  type PolicyRequest,
  scopePolicy,
} from './policy/policy-decider.js';
export { type RevocationEvent, type RevocationSubscriber, REVOCATION_CHANNEL } from './revocation/events.js';
export { MemoryRevocationBus } from './revocation/memory-subscriber.js';
export { RedisRevocationSubscriber, publishRevocation } from './revocation/redis-subscriber.js';
export { SseRevocationSubscriber } from './revocation/sse-subscriber.js';
export { Denylist } from './revocation/denylist.js';
export { normalisePath } from './routes/normalise-path.js';
export { loadRoutesFile, validateRoutes } from './routes/load-routes.js';
export type {
  GatewayRoutesConfig,
  RouteConfig,
  CorsConfig,
  ThrottleConfig,
  LimitConfig,
} from './routes/route-schema.js';

import { createGatewayService } from './gateway.js';

/** The gateway as configured from the environment (for `flotilla up` and `runService`). */
export const gateway = createGatewayService();
