import { describe, expect, it } from 'vitest';
import { LruCache } from './lru.js';

describe('LruCache', () => {
  it('evicts the least recently used key, not a hot one', () => {
    const lru = new LruCache<number>(4);
    for (const k of ['a', 'b', 'c', 'd']) lru.set(k, 1);
    lru.get('a'); // a is the oldest insertion and in the older half: refreshed
    lru.set('e', 1);
    expect(lru.get('a')).toBe(1);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.size).toBe(4);
  });

  it('stays bounded under a stream of new keys while keeping a hot key', () => {
    const lru = new LruCache<number>(100);
    lru.set('hot', 42);
    for (let i = 0; i < 10_000; i++) {
      lru.set(`k${i}`, i);
      expect(lru.get('hot')).toBe(42);
    }
    expect(lru.size).toBe(100);
    expect(lru.get('k0')).toBeUndefined();
  });

  it('refuses a size that is not a positive integer', () => {
    expect(() => new LruCache(0)).toThrow(RangeError);
  });
});
