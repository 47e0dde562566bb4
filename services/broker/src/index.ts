/**
 * `@flotilla/broker`: the fleet's embedded message broker — in-process (`startBroker`,
 * for tests and tools) or as a process (`@flotilla/broker/main`). Everything else about
 * it is reached over its contract (`BrokerClient` in `@flotilla/kit/contracts`).
 */
export { brokerConfigSchema } from './config.js';
// The metric families, for checks of the fleet's metric names (test/prometheus).
export { type BrokerMetrics, brokerMetrics } from './metrics.js';
export { broker, brokerInternals, type BrokerInternals, createBrokerService } from './service.js';
export { type RunningBroker, startBroker } from './start.js';
