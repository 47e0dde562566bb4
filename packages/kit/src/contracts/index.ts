/**
 * The wire contracts between Flotilla's components, each in one module that both ends
 * import and that is tested from both ends (`@flotilla/kit/contracts`). A folder per
 * contract: its types and schemas, its constants (paths, channels, algorithms), and the
 * client or the checks both sides share.
 */
export * from './revocation/index.js';
export * from './access-token/index.js';
export * from './auth-admin/index.js';
export * from './control-api/index.js';
export * from './kms/index.js';
export * from './storage/index.js';
export * from './broker/index.js';
