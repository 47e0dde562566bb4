export { adminTokenPath } from './admin-auth.js';
export type { IssueResponse } from './ca/certificate-authority.js';
export type { TrustBundle } from './ca/ca-store.js';
export { kekPath } from './ca/key-encryption.js';
export { controlConfig } from './config.js';
export { control, type ControlConfig, createControlService } from './control-service.js';
export { peerCertificate } from './peer-certificate.js';
export { type RunningControl, type StartControlOptions, startControl } from './start-control.js';
