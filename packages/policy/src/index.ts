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
