import { type AuditEvent, FlotillaError, peerOf, type ServiceApp } from '@flotilla/kit';
import {
  AddUserRequest,
  type AdminUser,
  AUTH_ADMIN_ROUTES,
  type KeyRotation,
  type SigningKeyInfo,
  UsernameParams,
} from '@flotilla/kit/contracts';
import type { FastifyRequest } from 'fastify';
import type { KeyStore } from '../keys.js';
import type { Revocations } from '../revocations/store.js';
import type { User, UserStore } from '../users/store.js';

export interface AdminApiDeps {
  users: UserStore;
  keys: KeyStore;
  revocations: Revocations;
  rotateKeys: () => Promise<Omit<KeyRotation, 'retainSeconds'>>;
  retainSeconds: number;
  audit: (event: AuditEvent) => Promise<unknown>;
}

function toAdminUser(u: User): AdminUser {
  return { id: u.id, username: u.username, roles: u.roles, disabled: u.disabled, mfa: u.totpSecret !== null };
}

/**
 * The auth service's admin API (`/admin/v1`, the `auth-admin` contract): users and
 * signing keys, so that operators' tools never open auth's database. Every call is
 * audited with the caller's SPIFFE id, its outcome and never a password.
 */
export function registerAdminApi(app: ServiceApp, d: AdminApiDeps): void {
  void app.register(async (scope) => {
    // Before validation: a caller without a certificate learns nothing about the API.
    scope.addHook('onRequest', async (req) => {
      if (peerOf(req)) return;
      await d.audit({
        actor: 'anonymous',
        action: 'admin.call',
        target: `${req.method} ${req.routeOptions.url ?? req.url}`,
        outcome: 'denied',
        reason: 'no workload certificate',
      });
      throw new FlotillaError(
        'FLT_UNAUTHENTICATED',
        'the admin API is for the operator: present a workload certificate',
      );
    });
    registerUserRoutes(scope, d);
    registerKeyRoutes(scope, d);
  });
}

/**
 * Runs an admin action and records it, success or failure, before answering. The admin
 * API is served to workloads over mTLS only; which one may call it is the kit's inbound
 * policy check (the fleet's Cedar policies permit `Service::"operator"` alone), which has
 * run before this for every caller with a certificate.
 */
async function audited<T>(
  d: AdminApiDeps,
  req: FastifyRequest,
  action: string,
  target: string,
  run: () => Promise<T>,
): Promise<T> {
  const actor = peerOf(req)?.id ?? 'anonymous';
  try {
    const result = await run();
    await d.audit({ actor, action, target, outcome: 'success', details: { via: 'admin-api' } });
    return result;
  } catch (err) {
    const reason = err instanceof FlotillaError ? err.code : 'FLT_INTERNAL';
    await d.audit({ actor, action, target, outcome: 'failure', reason, details: { via: 'admin-api' } });
    throw err;
  }
}

function found(user: User | undefined, username: string): User {
  if (!user) throw new FlotillaError('FLT_NOT_FOUND', `no user "${username}"`);
  return user;
}

function registerUserRoutes(app: ServiceApp, d: AdminApiDeps): void {
  const { listUsers, addUser, disableUser, enableUser, resetMfa } = AUTH_ADMIN_ROUTES;
  const params = { schema: { params: UsernameParams } };

  app.get(listUsers.path, async (req) =>
    audited(d, req, 'admin.user.list', 'users', async () => ({
      users: (await d.users.list()).map(toAdminUser),
    })),
  );

  app.post(addUser.path, { schema: { body: AddUserRequest } }, async (req, reply) => {
    const { username, password, roles } = req.body;
    const user = await audited(d, req, 'user.create', username, () => d.users.add(username, password, roles));
    return reply.code(201).send({ user: toAdminUser(user) });
  });

  app.post(disableUser.path, params, async (req) => {
    const { username } = req.params;
    return audited(d, req, 'user.disable', username, async () => {
      const user = found(await d.users.setDisabled(username, true), username);
      // Every token issued to them so far is denied: at introspection, and by gateways at once.
      await d.revocations.revoke({ type: 'user', sub: user.id });
      return { user: toAdminUser(user) };
    });
  });

  app.post(enableUser.path, params, async (req) => {
    const { username } = req.params;
    return audited(d, req, 'user.enable', username, async () => ({
      user: toAdminUser(found(await d.users.setDisabled(username, false), username)),
    }));
  });

  app.post(resetMfa.path, params, async (req) => {
    const { username } = req.params;
    return audited(d, req, 'mfa.reset', username, async () => {
      found(await d.users.byUsername(username), username);
      await d.users.resetMfa(username);
      return { user: toAdminUser(found(await d.users.byUsername(username), username)) };
    });
  });
}

function registerKeyRoutes(app: ServiceApp, d: AdminApiDeps): void {
  const { listKeys, rotateKeys } = AUTH_ADMIN_ROUTES;

  app.get(listKeys.path, async (req) =>
    audited(d, req, 'admin.keys.list', 'signing-keys', async () => {
      await d.keys.ensure();
      // The public facts of each key only: its private part never leaves the store.
      const keys: SigningKeyInfo[] = (await d.keys.load()).map((k) => ({
        kid: k.kid,
        state: k.state,
        createdAt: k.createdAt.toISOString(),
        expiresAt: k.expiresAt?.toISOString() ?? null,
      }));
      return { keys };
    }),
  );

  app.post(rotateKeys.path, async (req) =>
    audited(d, req, 'keys.rotate', 'signing-keys', async () => ({
      ...(await d.rotateKeys()),
      retainSeconds: d.retainSeconds,
    })),
  );
}
