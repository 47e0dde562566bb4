export {
  type Balancer,
  type BalancerKind,
  createBalancer,
  PowerOfTwoChoices,
  RoundRobin,
} from './balancer.js';
export { CallAccounting } from './call-accounting.js';
export type { CallRequest, DispatchCall } from './call-request.js';
export { callFailure } from './call-rules.js';
export { Catalog } from './catalog.js';
export { CircuitBreaker, type CircuitOptions, type CircuitState } from './circuit-breaker.js';
export { type Instance, originOf } from './instance.js';
export { InstancePicker } from './instance-picker.js';
export { OutlierDetector, type OutlierOptions } from './outlier-detector.js';
export { Registration, type RegistrationOptions } from './registration.js';
export { RetryBudget } from './retry-budget.js';
export { ServiceClient, type ServiceClientOptions } from './service-client.js';
