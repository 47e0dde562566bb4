export { AuthAdminClient, type AuthAdminClientOptions } from './client.js';
export {
  AddUserRequest,
  AdminUser,
  AUTH_ADMIN_BASE,
  AUTH_ADMIN_ROUTES,
  KeyList,
  KeyRotation,
  MIN_PASSWORD_LENGTH,
  Role,
  SigningKeyInfo,
  UserAnswer,
  UserList,
  Username,
  UsernameParams,
} from './schemas.js';
