import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../audit/index.js';
import { FlotillaError } from '../errors.js';
import type { User } from './user.js';
import { openUserPolicy } from './user-policy.js';

const dir = resolve(import.meta.dirname, '../../../../policies');
const user = (sub: string, roles: string[], mfa = true): User => ({
  sub,
  kind: 'user',
  roles,
  scopes: [],
  clientId: 'flixtube-web',
  mfa,
});
const video = (owner: string) => ({
  uid: { type: 'Video', id: 'v1' },
  attrs: { owner: { __entity: { type: 'User', id: owner } } },
});

describe('openUserPolicy', () => {
  it("decides with the fleet's policies and audits a denial", async () => {
    const events: AuditEvent[] = [];
    const policy = await openUserPolicy({ dir, audit: async (e) => void events.push(e) });
    expect(policy.allows(user('alice', ['viewer']), 'video:Read', video('bob'))).toBe(true);
    expect(policy.allows(user('bob', ['admin']), 'video:Delete', video('alice'))).toBe(true);
    await expect(
      policy.require(user('alice', ['viewer']), 'video:Delete', video('alice'), 'no'),
    ).resolves.toBe(undefined);
    expect(events).toEqual([]);

    const err = await policy
      .require(user('alice', ['viewer']), 'video:Delete', video('bob'), 'you may not delete this video')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlotillaError);
    expect((err as FlotillaError).status).toBe(403);
    expect(events).toEqual([
      expect.objectContaining({
        actor: 'alice',
        action: 'policy.deny',
        target: 'Video::"v1"',
        outcome: 'denied',
      }),
    ]);
    policy.close();
  });

  it('refuses to open a directory without policies', async () => {
    await expect(openUserPolicy({ dir: '/nonexistent', audit: async () => undefined })).rejects.toThrow();
  });
});
