export { type ServiceApp } from './app.js';
export { type PolicyDecider, type ServiceContext } from './context.js';
export type { HealthCheck, ReadinessReport } from './health.js';
export { runService } from './run.js';
export {
  defineService,
  type RunningService,
  type Service,
  type ServiceDefinition,
  type StartOptions,
} from './service.js';
