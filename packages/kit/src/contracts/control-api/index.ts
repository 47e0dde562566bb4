export { ControlAdminClient, type ControlAdminOptions } from './admin-client.js';
export { adminTokenPath } from './admin-token.js';
export { CONTROL_ROUTES, type ControlRoute, HEARTBEATS_MEDIA_TYPE, instancePath } from './routes.js';
export {
  CaKind,
  CrlList,
  InstanceList,
  InstanceParams,
  IssuedCertificate,
  IssueRequest,
  JoinTokenAnswer,
  JoinTokenRequest,
  MAX_JOIN_TOKEN_TTL_SECONDS,
  PolicyKeyRotation,
  PrometheusTargetGroup,
  RegisteredInstance,
  RegisterRequest,
  Registration,
  RenewRequest,
  REVOCATION_REASONS,
  type RevocationReason,
  RevokeAnswer,
  RevokeRequest,
  RotateCaAnswer,
  RotateCaRequest,
  SerialNumber,
  ServiceName,
  TrustBundle,
} from './schemas.js';
export { decodeAnswer } from './transport.js';
export { ControlClient, type PolicyBundleResponse, toMaterial } from './workload-client.js';
