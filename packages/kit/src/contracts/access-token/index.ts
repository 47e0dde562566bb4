export {
  ACCESS_TOKEN_TYPE,
  type AccessTokenClaims,
  ALGORITHMS,
  REQUIRED_CLAIMS,
  SIGNING_ALGORITHM,
} from './claims.js';
export { AccessTokenError, type VerifyAccessTokenOptions, verifyAccessToken } from './verify-access-token.js';
