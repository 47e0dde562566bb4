import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { type Dispatcher, request } from 'undici';
import { FlotillaError } from '../../errors/index.js';
import type { MtlsClient } from '../../identity/index.js';
import {
  type AddUserRequest,
  type AdminUser,
  AUTH_ADMIN_ROUTES,
  KeyList,
  KeyRotation,
  type SigningKeyInfo,
  UserAnswer,
  UserList,
} from './schemas.js';

export type AuthAdminClientOptions = {
  /** The auth service's URL, e.g. `https://127.0.0.1:7410`. */
  url: string;
  /** Time to wait for an answer; default 30 s (adding a user hashes its password). */
  timeoutMs?: number;
} & (
  | {
      /** The kit's mTLS client of a workload whose identity the policies permit (`operator`). */
      mtls: MtlsClient;
    }
  | {
      /** An undici dispatcher that presents the operator's certificate and trusts the fleet's CA. */
      dispatcher: Dispatcher;
    }
);

const checks = new Map<TSchema, ReturnType<typeof TypeCompiler.Compile>>();
function matches<T extends TSchema>(schema: T, value: unknown): value is Static<T> {
  let check = checks.get(schema);
  if (!check) checks.set(schema, (check = TypeCompiler.Compile(schema)));
  return check.Check(value);
}

/**
 * The auth service's admin API — users and signing keys — over mTLS, for the operator's
 * tools (`flotilla users`, `flotilla auth`). The auth service decides who may call it by
 * Cedar policy (only `Service::"operator"`) and audits every call with the caller's
 * identity. A refusal or failure is the `FlotillaError` the service answered with.
 *
 * @example
 * const admin = new AuthAdminClient({ url: 'https://127.0.0.1:7410', mtls: new MtlsClient(operatorIdentity) });
 * await admin.addUser({ username: 'alice', password, roles: ['viewer'] });
 * await admin.disableUser('alice'); // her tokens are revoked at once
 */
export class AuthAdminClient {
  readonly #opts: AuthAdminClientOptions;

  constructor(opts: AuthAdminClientOptions) {
    if (!URL.canParse(opts.url))
      throw new FlotillaError('FLT_CONFIG_INVALID', 'AuthAdminClient: url must be absolute');
    this.#opts = opts;
  }

  /** Every user, by username. */
  async listUsers(): Promise<AdminUser[]> {
    return (await this.#call(AUTH_ADMIN_ROUTES.listUsers, UserList)).users;
  }

  /** Creates a user (there is no self-signup). `FLT_CONFLICT` when the name is taken. */
  async addUser(user: AddUserRequest): Promise<AdminUser> {
    return (await this.#call(AUTH_ADMIN_ROUTES.addUser, UserAnswer, undefined, user)).user;
  }

  /** Disables a user and revokes every token issued to them so far. */
  async disableUser(username: string): Promise<AdminUser> {
    return (await this.#call(AUTH_ADMIN_ROUTES.disableUser, UserAnswer, username)).user;
  }

  /** Enables a disabled user (tokens revoked before stay revoked). */
  async enableUser(username: string): Promise<AdminUser> {
    return (await this.#call(AUTH_ADMIN_ROUTES.enableUser, UserAnswer, username)).user;
  }

  /** Removes a user's TOTP and recovery codes, so they can enrol again. */
  async resetMfa(username: string): Promise<AdminUser> {
    return (await this.#call(AUTH_ADMIN_ROUTES.resetMfa, UserAnswer, username)).user;
  }

  /** The published signing keys and their states (never a private part). */
  async listKeys(): Promise<SigningKeyInfo[]> {
    return (await this.#call(AUTH_ADMIN_ROUTES.listKeys, KeyList)).keys;
  }

  /** Makes the published next key active, retires the active one, publishes a new next key. */
  async rotateKeys(): Promise<KeyRotation> {
    return this.#call(AUTH_ADMIN_ROUTES.rotateKeys, KeyRotation);
  }

  async #call<T extends TSchema>(
    route: { method: 'GET' | 'POST'; path: string },
    answer: T,
    username?: string,
    body?: unknown,
  ): Promise<Static<T>> {
    const path =
      username === undefined ? route.path : route.path.replace(':username', encodeURIComponent(username));
    const res = await this.#send(route.method, path, body);
    let json: unknown;
    try {
      json = await res.body.json();
    } catch (cause) {
      throw new FlotillaError('FLT_UPSTREAM_FAILED', `auth answered ${res.statusCode} without JSON`, {
        cause,
      });
    }
    // RFC 9457: a refusal is problem+json; rebuilt with its stable code.
    if (res.statusCode >= 400) throw FlotillaError.fromProblem(json);
    if (!matches(answer, json))
      throw new FlotillaError('FLT_UPSTREAM_FAILED', `auth answered ${path} unexpectedly`);
    return json;
  }

  #send(method: 'GET' | 'POST', path: string, body: unknown): Promise<Dispatcher.ResponseData> {
    const timeout = this.#opts.timeoutMs ?? 30_000;
    const headers: Record<string, string> = { accept: 'application/json' };
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if ('mtls' in this.#opts) {
      return this.#opts.mtls.request('auth', this.#opts.url, {
        method,
        path,
        headers,
        ...(payload !== undefined ? { body: payload } : {}),
        timeoutMs: timeout,
      });
    }
    return request(new URL(path, this.#opts.url), {
      method,
      headers,
      body: payload,
      dispatcher: this.#opts.dispatcher,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
  }
}
