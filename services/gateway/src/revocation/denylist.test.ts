import { describe, expect, it } from 'vitest';
import { principalFromClaims } from '../auth/principal.js';
import { Denylist } from './denylist.js';

const p = (claims: Record<string, unknown>) =>
  principalFromClaims({ sub: 'u1', client_id: 'web', jti: 'j1', iat: 1_000, exp: 2_000, ...claims }, 'jwt');

describe('Denylist', () => {
  it('denies a revoked jti and a revoked grant', () => {
    const d = new Denylist(60_000);
    d.apply({ type: 'token', jti: 'j1', at: 1_500 });
    d.apply({ type: 'grant', grantId: 'g1', at: 1_500 });
    expect(d.check(p({}))).toBe('token revoked');
    expect(d.check(p({ jti: 'j2', grant_id: 'g1' }))).toBe('grant revoked');
    expect(d.check(p({ jti: 'j2', grant_id: 'g2' }))).toBeUndefined();
  });

  it('denies tokens of a disabled user or client issued up to the event, not after', () => {
    const d = new Denylist(60_000);
    d.apply({ type: 'user', sub: 'u1', at: 1_500 }); // NumericDate: seconds
    d.apply({ type: 'client', clientId: 'app', at: 1_500 });
    expect(d.check(p({ iat: 1_500 }))).toBe('user disabled');
    expect(d.check(p({ iat: 1_501 }))).toBeUndefined();
    expect(d.check(p({ sub: 'u2', client_id: 'app', iat: 1_400 }))).toBe('client disabled');
    expect(d.check(p({ sub: 'u2', client_id: 'app', iat: 1_600 }))).toBeUndefined();
  });

  it('forgets entries after the TTL', () => {
    let now = 0;
    const d = new Denylist(1_000, () => now);
    d.apply({ type: 'token', jti: 'j1', at: 1 });
    expect(d.check(p({}))).toBe('token revoked');
    now = 2_000;
    expect(d.check(p({}))).toBeUndefined();
    d.sweep();
    expect(d.size).toBe(0);
  });
});
