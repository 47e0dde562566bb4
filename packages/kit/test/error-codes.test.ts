import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ErrorCode, errorCodes, FlotillaError, problemType, toProblem } from '@flotilla/kit';
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

  it('exposes details below 500 only', () => {
    const client = toProblem(new FlotillaError('CONFLICT', 'title already taken'));
    expect(client.detail).toBe('title already taken');
    const server = toProblem(new FlotillaError('INTERNAL', 'connection string postgres://u:p@db'));
    expect(server.detail).toBeUndefined();
    expect(JSON.stringify(server)).not.toContain('postgres://');
  });

  it('marks 5xx errors retryable by default and 4xx not', () => {
    expect(new FlotillaError('SERVICE_UNAVAILABLE').retryable).toBe(true);
    expect(new FlotillaError('FORBIDDEN').retryable).toBe(false);
  });
});
