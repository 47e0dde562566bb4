import type { User } from './user.js';

/** A Cedar entity in the shape `@flotilla/policy` takes (`EntityInput`). */
export interface CallerEntity {
  uid: { type: 'User' | 'Client'; id: string };
  attrs: Record<string, unknown>;
  parents: Array<{ type: 'Role'; id: string }>;
}

/**
 * The caller as the Cedar principal the fleet's schema describes: a `User` in its
 * `Role`s with `roles` and `mfa`, or a `Client` with its `scopes`. Everything in it
 * comes from the verified token, never from request input.
 *
 * @example
 * engine.decide({ principal: callerEntity(user).uid, action: 'video:Read', resource, entities: [callerEntity(user), video] });
 */
export function callerEntity(user: User): CallerEntity {
  if (user.kind === 'client') {
    return { uid: { type: 'Client', id: user.clientId }, attrs: { scopes: [...user.scopes] }, parents: [] };
  }
  return {
    uid: { type: 'User', id: user.sub },
    attrs: { roles: [...user.roles], mfa: user.mfa },
    parents: user.roles.map((id) => ({ type: 'Role', id })),
  };
}
