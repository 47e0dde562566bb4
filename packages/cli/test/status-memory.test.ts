import { describe, expect, it } from 'vitest';
import { memory } from '../src/commands/status.js';

describe('flotilla status memory figures', () => {
  it('reads resident, proportional and private memory of a live process from /proc', async () => {
    const m = await memory(process.pid);
    expect(m.memoryMB).toBeGreaterThan(10);
    // Shared pages count whole in RSS, in part in PSS, and not at all in private.
    expect(m.pssMB).toBeLessThanOrEqual(m.memoryMB!);
    expect(m.privateMB).toBeLessThanOrEqual(m.pssMB!);
    expect(m.privateMB).toBeGreaterThan(0);
  });

  it('gives nulls, not an error, for a process that is gone', async () => {
    expect(await memory(2 ** 22 + 1)).toEqual({ memoryMB: null, pssMB: null, privateMB: null });
  });
});
