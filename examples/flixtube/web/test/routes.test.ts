import { describe, expect, it } from 'vitest';
import { hrefOf, parseRoute } from '../src/routes.js';

const id = '0b8f2f5e-8a0e-4d6f-9a51-2f0c7f1d9b11';

describe('parseRoute', () => {
  it('reads every page, and back', () => {
    for (const route of [
      { page: 'videos' },
      { page: 'video', id },
      { page: 'upload' },
      { page: 'history' },
      { page: 'favorites' },
    ] as const) {
      expect(parseRoute(hrefOf(route))).toEqual(route);
    }
  });

  it('takes only a UUID as a video id', () => {
    expect(parseRoute('#/videos/..%2Fadmin')).toEqual({ page: 'not-found' });
    expect(parseRoute('#/uploads')).toEqual({ page: 'not-found' });
  });
});
