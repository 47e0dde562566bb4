/**
 * The one place that imports Cedar. The `nodejs` build loads the WebAssembly module
 * synchronously at import time, so every later call is a plain function call.
 */

export type {
  CedarValueJson,
  DetailedError,
  EntityJson,
  EntityUidJson,
  PolicyJson,
  SchemaJson,
} from '@cedar-policy/cedar-wasm/nodejs';
export {
  checkParsePolicySet,
  checkParseSchema,
  getCedarVersion,
  policyToJson,
  preparsePolicySet,
  preparseSchema,
  schemaToJson,
  statefulIsAuthorized,
  validate,
} from '@cedar-policy/cedar-wasm/nodejs';
