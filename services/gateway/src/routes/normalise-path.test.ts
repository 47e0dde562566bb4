import { describe, expect, it } from 'vitest';
import { normalisePath, normaliseSlow } from './normalise-path.js';

describe('normalisePath', () => {
  it.each([
    ['/', '/'],
    ['/api/videos/42', '/api/videos/42'],
    ['/api//videos///42', '/api/videos/42'],
    ['/api/videos/42/', '/api/videos/42'],
    ['/api/./videos/./42', '/api/videos/42'],
    ['/api/x/../videos/42', '/api/videos/42'],
    ['/api/%2e%2e/api/videos', '/api/videos'],
    ['/api/%2E/videos', '/api/videos'],
    ['/api/videos/caf%C3%A9', '/api/videos/caf%C3%A9'],
    ['/api/videos/a%20b', '/api/videos/a%20b'],
    ['/api/vid%65os/1', '/api/videos/1'],
    ['/a/b/c/../../d', '/a/d'],
  ])('%s → %s', (input, expected) => {
    const r = normalisePath(input);
    expect(r).toMatchObject({ ok: true, path: expected });
  });

  it.each([
    ['/..', 'path escapes the root'],
    ['/api/../../etc/passwd', 'path escapes the root'],
    ['/%2e%2e/etc', 'path escapes the root'],
    ['/api/..%2fadmin', 'encoded separator or NUL in path'],
    ['/api/..%2Fadmin', 'encoded separator or NUL in path'],
    ['/api/..%5cadmin', 'encoded separator or NUL in path'],
    ['/api/a%00b', 'encoded separator or NUL in path'],
    ['/api/%252e%252e/admin', 'double percent-encoding in path'],
    ['/api/%252fadmin', 'double percent-encoding in path'],
    ['/api\\..\\admin', 'backslash in path'],
    ['/api/%zz', 'malformed percent-encoding in path'],
    ['/api/%c0%ae%c0%ae/admin', 'malformed percent-encoding in path'],
    ['/api/a%0ab', 'encoded separator or control character in path'],
    ['api/videos', 'path must start with /'],
    ['/api/\u0001', 'control character in path'],
  ])('refuses %s (%s)', (input, reason) => {
    expect(normalisePath(input)).toEqual({ ok: false, reason });
  });

  it('keeps decoded segments for matching', () => {
    expect(normalisePath('/a/b%20c')).toMatchObject({ segments: ['a', 'b c'] });
  });

  it('takes the fast path only where the full rules give the same answer', () => {
    // Paths built from characters that matter to the rules, compared with the slow path.
    const parts = [
      'a',
      'Z',
      '0',
      '.',
      '..',
      '...',
      '-',
      '_',
      '~',
      '%2e',
      '%41',
      '%2f',
      '',
      ' ',
      '!',
      'é',
      '\\',
    ];
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 20_000; i++) {
      let path = '';
      const segments = 1 + (next() % 5);
      for (let j = 0; j < segments; j++) {
        path += '/';
        const len = next() % 4;
        for (let k = 0; k < len; k++) path += parts[next() % parts.length];
      }
      if (next() % 7 === 0) path += '/';
      expect(normalisePath(path), path).toEqual(normaliseSlow(path));
    }
  });

  it('answers the usual API path at once, as the full rules do', () => {
    expect(normalisePath('/api/videos/42')).toEqual({
      ok: true,
      path: '/api/videos/42',
      segments: ['api', 'videos', '42'],
    });
    expect(normalisePath('/api/.hidden/x.json')).toEqual(normaliseSlow('/api/.hidden/x.json'));
  });
});
