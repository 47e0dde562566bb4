import { describe, expect, it } from 'vitest';
import { TokenCache, tokenHash } from './token-cache.js';

describe('TokenCache', () => {
  it('expires entries at their own deadline and evicts the least recently used', () => {
    let now = 0;
    const c = new TokenCache<string>(2, () => now);
    c.set('a', 'A', 100);
    c.set('b', 'B', 1_000);
    expect(c.get('a')).toBe('A'); // a is now most recent
    c.set('c', 'C', 1_000); // evicts b
    expect(c.get('b')).toBeUndefined();
    now = 150;
    expect(c.get('a')).toBeUndefined();
    expect(c.get('c')).toBe('C');
    c.set('d', 'D', 100); // already expired: not stored
    expect(c.get('d')).toBeUndefined();
  });

  it('keys by a hash, never the token', () => {
    expect(tokenHash('abc')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
