/**
 * Flotilla's one error hierarchy: `FlotillaError` with a stable `FLT_…` code from one
 * registry (docs/errors.md). The lowest package of the platform — no dependencies — so
 * that every other package, the policy engine included, raises the same errors.
 */
export { type ErrorCode, errorCodes, isErrorCode, problemType } from './codes.js';
export { ConfigError, type FieldError, FlotillaError, type FlotillaErrorOptions } from './flotilla-error.js';
