/**
 * `@flotilla/kms`: the fleet's key management service — in-process (`createKmsService`,
 * for tests and tools) or as a process (`@flotilla/kms/main`). Everything else about it
 * is reached over its contract (`KmsClient` in `@flotilla/kit/contracts`).
 */
export { kmsConfigSchema } from './config.js';
export { canonicalContext } from './crypto/ciphertext.js';
export { createKmsService, kms, kmsInternals, type KmsInternals, type KmsServiceOptions } from './service.js';
// The metric families, for checks of the fleet's metric names (test/prometheus).
export { type KmsMetrics, kmsMetrics } from './usage/metrics.js';
export { loadRootKey } from './root-key.js';
export { type RunningKms, startKms } from './start.js';
