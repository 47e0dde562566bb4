export { Type } from '@sinclair/typebox';
export {
  type AuditEvent,
  AuditLog,
  type AuditRecord,
  type VerifyResult,
  verifyAuditFile,
  verifyAuditText,
} from './audit/index.js';
export { type BaseConfig, baseConfigSchema, loadConfig } from './config.js';
export { parseYaml } from './yaml.js';
export {
  type Db,
  DbHost,
  type DbHostOptions,
  type Migration,
  migrate,
  openDb,
  openEmbedded,
  type Queryable,
  type QueryResult,
  readMigrations,
} from './db/index.js';
export {
  ConfigError,
  type ErrorCode,
  errorCodes,
  type FieldError,
  FlotillaError,
  type FlotillaErrorOptions,
  isErrorCode,
  PROBLEM_CONTENT_TYPE,
  type Problem,
  problemType,
  toProblem,
} from './errors/index.js';
export type { HealthCheck, ReadinessReport } from './health.js';
export { createLogger, REDACT_PATHS, redactUrl } from './logger.js';
export { CounterSeries, HistogramSeries, SeriesCounter, SeriesHistogram } from './metric-series.js';
export { runService } from './run.js';
export {
  defineService,
  type RunningService,
  type Service,
  type PolicyDecider,
  type ServiceApp,
  type ServiceContext,
  type ServiceDefinition,
  type StartOptions,
} from './service.js';
export {
  currentTrace,
  formatTraceparent,
  parseTraceparent,
  runWithTrace,
  type TraceContext,
  traceHeaders,
} from './trace.js';
export {
  ControlClient,
  generateKeyAndCsr,
  type IdentitySource,
  ManualIdentity,
  MtlsClient,
  type MtlsRequest,
  normaliseSerial,
  parseSpiffeId,
  type Peer,
  peerOf,
  revokedSerials,
  type SpiffeId,
  serviceSpiffeId,
  spiffeIdOfCertificate,
  type TlsMaterial,
  type TrustBundle,
  WorkloadIdentity,
  x509,
} from './identity/index.js';
export {
  type Balancer,
  type BalancerKind,
  CallAccounting,
  callFailure,
  type CallRequest,
  Catalog,
  CircuitBreaker,
  createBalancer,
  type DispatchCall,
  type Instance,
  InstancePicker,
  originOf,
  OutlierDetector,
  PowerOfTwoChoices,
  Registration,
  RetryBudget,
  RoundRobin,
  ServiceClient,
} from './discovery/index.js';
export * from './user-auth/index.js';
