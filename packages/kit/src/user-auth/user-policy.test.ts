import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../audit/index.js';
import { FlotillaError } from '../errors/index.js';
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

  it("decides with the engine it is given (the service's bundle), not a directory", async () => {
    const asked: unknown[] = [];
    const policy = await openUserPolicy({
      engine: {
        version: 1,
        decide: (request) => {
          asked.push(request);
          return { decision: 'deny', reasons: ['from-bundle'], errors: [] };
        },
      },
      audit: async () => undefined,
    });
    // The directory's policies would allow this read; the engine in force denies it.
    expect(policy.allows(user('alice', ['viewer']), 'video:Read', video('bob'))).toBe(false);
    expect(policy.decide(user('alice', ['viewer']), 'video:Read', video('bob')).reasons).toEqual([
      'from-bundle',
    ]);
    expect(asked[0]).toMatchObject({
      principal: { type: 'User', id: 'alice' },
      action: 'video:Read',
      resource: { type: 'Video', id: 'v1' },
    });
    policy.close();
  });

  it('refuses to open a directory without policies', async () => {
    await expect(openUserPolicy({ dir: '/nonexistent', audit: async () => undefined })).rejects.toThrow();
  });
});
