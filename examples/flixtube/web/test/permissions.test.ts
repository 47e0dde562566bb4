import { describe, expect, it } from 'vitest';
import { permissionRequests, readPermissions, videoPaths } from '../src/api/permissions.js';
import type { PermissionRequest } from '../src/api/types.js';

const id = '0b8f2f5e-8a0e-4d6f-9a51-2f0c7f1d9b11';
const requests: PermissionRequest[] = [
  { method: 'POST', path: '/api/uploads' },
  { method: 'DELETE', path: `/api/videos/${id}` },
];

describe('readPermissions', () => {
  it('allows exactly what the gateway allowed, in the order asked', () => {
    const p = readPermissions(requests, {
      results: [
        { method: 'POST', path: '/api/uploads', allowed: false },
        { method: 'DELETE', path: `/api/videos/${id}`, allowed: true },
      ],
    });
    expect(p.settled).toBe(true);
    expect(p.may('POST', '/api/uploads')).toBe(false);
    expect(p.may('DELETE', `/api/videos/${id}`)).toBe(true);
    // Never asked: never allowed.
    expect(p.may('PATCH', `/api/videos/${id}`)).toBe(false);
  });

  it.each([
    ['no answer', undefined],
    ['not an object', 'yes'],
    ['no results', {}],
    ['too few results', { results: [{ method: 'POST', path: '/api/uploads', allowed: true }] }],
    [
      'results out of order',
      {
        results: [
          { method: 'DELETE', path: `/api/videos/${id}`, allowed: true },
          { method: 'POST', path: '/api/uploads', allowed: true },
        ],
      },
    ],
    [
      'a truthy allowed that is not true',
      {
        results: [
          { method: 'POST', path: '/api/uploads', allowed: 'true' },
          { method: 'DELETE', path: `/api/videos/${id}`, allowed: 1 },
        ],
      },
    ],
  ])('allows nothing for %s', (_, body) => {
    const p = readPermissions(requests, body);
    expect(p.settled).toBe(true);
    expect(p.may('POST', '/api/uploads')).toBe(false);
    expect(p.may('DELETE', `/api/videos/${id}`)).toBe(false);
  });
});

describe('permissionRequests', () => {
  it('asks about the upload link on every page', () => {
    expect(permissionRequests(undefined)).toEqual([{ method: 'POST', path: '/api/uploads' }]);
  });

  it('adds a video page’s own actions, on the paths the page will call', () => {
    const p = videoPaths(id);
    expect(permissionRequests(id)).toEqual([
      { method: 'POST', path: '/api/uploads' },
      { method: 'PATCH', path: p.video },
      { method: 'DELETE', path: p.video },
      { method: 'PUT', path: p.like },
      { method: 'PUT', path: p.favorite },
    ]);
    expect(p.like).toBe(`/api/videos/${id}/like`);
  });
});
