import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ErrorCode, errorCodes, isErrorCode, problemType } from './codes.js';
import { ConfigError, FlotillaError } from './flotilla-error.js';
import { describe, expect, it } from 'vitest';

describe('the error code registry', () => {
  it('documents every code in docs/errors.md with its status and type', async () => {
    const doc = await readFile(join(import.meta.dirname, '..', '..', '..', 'docs', 'errors.md'), 'utf8');
    const rows = doc.split('\n').filter((l) => l.startsWith('| `'));
    const documented = rows.map((l) => l.split('|').map((c) => c.trim().replaceAll('`', '')));
    expect(documented.map((r) => r[1]).sort()).toEqual(Object.keys(errorCodes).sort());
    for (const row of documented) {
      const code = row[1] as ErrorCode;
      expect(Number(row[2])).toBe(errorCodes[code].status);
      expect(row[3]).toBe(problemType(code));
    }
  });

  it('marks 5xx errors retryable by default and 4xx not', () => {
    expect(new FlotillaError('FLT_UNAVAILABLE').retryable).toBe(true);
    expect(new FlotillaError('FLT_FORBIDDEN').retryable).toBe(false);
  });

  it('names conditions with FLT_ codes, each with its own problem type', () => {
    const codes = Object.keys(errorCodes);
    expect(codes.every((c) => /^FLT_[A-Z]+(_[A-Z]+)*$/.test(c))).toBe(true);
    expect(new Set(codes.map((c) => problemType(c as ErrorCode))).size).toBe(codes.length);
    expect(problemType('FLT_TOKEN_EXPIRED')).toBe('urn:flotilla:problem:token-expired');
  });

  it('makes configuration errors FlotillaErrors with their own code', () => {
    const err = new ConfigError('PORT', 'PORT must be a number');
    expect(err).toBeInstanceOf(FlotillaError);
    expect(err).toMatchObject({ code: 'FLT_CONFIG_INVALID', setting: 'PORT', name: 'ConfigError' });
  });

  it('rebuilds an error sent by another service, trusting only codes it knows', () => {
    const known = FlotillaError.fromProblem({ code: 'FLT_CONFLICT', detail: 'title taken', status: 409 });
    expect(known).toMatchObject({ code: 'FLT_CONFLICT', status: 409, message: 'title taken' });
    const unknown = FlotillaError.fromProblem({ code: 'SOMETHING_ELSE', status: 401 });
    expect(unknown).toMatchObject({ code: 'FLT_UPSTREAM_FAILED', status: 502 });
    expect(FlotillaError.fromProblem('not json').code).toBe('FLT_UPSTREAM_FAILED');
    expect(isErrorCode('FLT_NOT_FOUND')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
  });
});
