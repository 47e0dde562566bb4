import { describe, expect, it } from 'vitest';
import {
  type KeyValueStore,
  safeReturnTo,
  savePending,
  signedInMarker,
  takePending,
} from '../src/auth/redirect-state.js';

function memoryStore(): KeyValueStore & { keys: () => string[] } {
  const map = new Map<string, string>();
  return {
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
    keys: () => [...map.keys()],
  };
}

const pending = {
  state: 's',
  nonce: 'n',
  codeVerifier: 'v'.repeat(43),
  returnTo: '#/history',
  silent: false,
  createdAt: Date.now(),
};

describe('the sign-in redirect state', () => {
  it('is read once and deleted at once', () => {
    const store = memoryStore();
    savePending(store, pending);
    expect(takePending(store)).toEqual(pending);
    expect(store.keys()).toEqual([]);
    expect(takePending(store)).toBeUndefined();
  });

  it('is refused when stale or malformed, and deleted anyway', () => {
    const store = memoryStore();
    savePending(store, { ...pending, createdAt: Date.now() - 11 * 60_000 });
    expect(takePending(store)).toBeUndefined();
    store.setItem('flixtube.oidc.pending', '{not json');
    expect(takePending(store)).toBeUndefined();
    expect(store.keys()).toEqual([]);
  });

  it('never turns returnTo into an open redirect', () => {
    expect(safeReturnTo('#/videos/42')).toBe('#/videos/42');
    expect(safeReturnTo('https://evil.example/')).toBe('#/');
    expect(safeReturnTo('//evil.example')).toBe('#/');
    expect(safeReturnTo('#/x"><script>')).toBe('#/');
  });

  it('keeps only a marker, never a token, between reloads', () => {
    const store = memoryStore();
    signedInMarker.remember(store);
    expect(signedInMarker.present(store)).toBe(true);
    expect(store.getItem('flixtube.oidc.signed-in')).toBe('1');
    signedInMarker.forget(store);
    expect(signedInMarker.present(store)).toBe(false);
  });
});
