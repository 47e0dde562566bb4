/**
 * The gateway's public entry: what the fleet needs to start it. `flotilla up` runs
 * `@flotilla/gateway/main` as its own process; tests and tools start it in-process with
 * `startGateway`, or run the service definition with the kit's `runService`.
 */
export { gatewayConfigSchema } from './config.js';
// The metric families, for checks of the fleet's metric names (test/prometheus).
export { createGatewayMetrics, type GatewayMetrics } from './observability/gateway-metrics.js';
export { createGatewayService, type GatewayDeps } from './service.js';
export { type RunningGateway, startGateway, type StartGatewayOptions } from './start.js';
