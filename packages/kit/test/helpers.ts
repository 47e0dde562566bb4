import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

/** A temporary FLOTILLA_HOME, removed by the returned function. */
export async function tempHome(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-test-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A log destination that keeps every JSON line for assertions. */
export function captureLogs(): {
  stream: Writable;
  lines: () => Record<string, unknown>[];
  text: () => string;
} {
  let buffer = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      buffer += chunk.toString();
      cb();
    },
  });
  return {
    stream,
    text: () => buffer,
    lines: () =>
      buffer
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
