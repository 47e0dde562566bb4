export {
  Authorizer,
  type AuthorizerOptions,
  type Decision,
  type DecisionLogEntry,
  type DecisionRequest,
} from './authorizer.js';
export { type CompiledPolicies, compilePolicies, type PolicyInfo, type PolicySources } from './compile.js';
export { type EntityInput, type EntityRef, toUid, type Uid, uidKey } from './entities.js';
export {
  formatIssue,
  PolicyError,
  type PolicyErrorCode,
  type PolicyIssue,
  policyErrorCodes,
} from './errors.js';
export { type LoadOptions, loadPolicies, readPolicySources } from './load.js';
export { stableJson } from './stable-json.js';
export {
  applyBundle,
  BUNDLE_TYP,
  type BundleContent,
  type BundleKey,
  createBundle,
  openBundle,
  type VerifiedBundle,
  verifyBundle,
} from './bundle.js';
export { lintBucketGrants, type LintWarning, lintPolicies } from './lint.js';
export { type SchemaAction, schemaActions } from './schema-actions.js';
export {
  findTestFiles,
  type PolicyTestCase,
  type PolicyTestResult,
  readTestFile,
  runTestFile,
} from './policy-tests.js';
export {
  type AllowList,
  allowListToPolicies,
  endpointId,
  HTTP_METHODS,
  type HttpMethod,
  type ServiceCall,
  serviceCallRequest,
} from './service-calls.js';
export { type PolicyWatcher, type WatchOptions, watchPolicies } from './watch.js';
export { LruCache } from './lru.js';
