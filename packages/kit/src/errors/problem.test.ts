import { describe, expect, it } from 'vitest';
import { FlotillaError } from '@flotilla/errors';
import { toProblem } from './problem.js';

describe('problem+json bodies', () => {
  it('exposes details below 500 only', () => {
    const client = toProblem(new FlotillaError('FLT_CONFLICT', 'title already taken'));
    expect(client.detail).toBe('title already taken');
    const server = toProblem(new FlotillaError('FLT_INTERNAL', 'connection string postgres://u:p@db'));
    expect(server.detail).toBeUndefined();
    expect(JSON.stringify(server)).not.toContain('postgres://');
  });
});
