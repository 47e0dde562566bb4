export { ControlClient } from '../contracts/control-api/workload-client.js';
export type { TrustBundle } from '../contracts/control-api/schemas.js';
export { revokedSerials } from './crl-set.js';
export { generateKeyAndCsr, type KeyAndCsr } from './keys.js';
export { ManualIdentity } from './manual-identity.js';
export { MtlsClient, type MtlsRequest } from './mtls-client.js';
export { type Peer, peerOfSocket } from './peer.js';
export { peerOf } from './server-tls.js';
export {
  normaliseSerial,
  parseSpiffeId,
  type SpiffeId,
  serviceSpiffeId,
  spiffeIdOfCertificate,
} from './spiffe.js';
export type { IdentitySource, TlsMaterial } from './tls-material.js';
export { WorkloadIdentity, type WorkloadIdentityOptions } from './workload-identity.js';
export { x509 } from './x509.js';
