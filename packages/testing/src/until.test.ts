import { describe, expect, it } from 'vitest';
import { until } from './until.js';

describe('until', () => {
  it('returns the first answer that is not undefined, trying again after a throw', async () => {
    const answers = [undefined, new Error('not up'), 'ready'];
    const probe = async () => {
      const next = answers.shift();
      if (next instanceof Error) throw next;
      return next;
    };
    expect(await until('the thing', probe, 10_000, 1)).toBe('ready');
    expect(answers).toEqual([]);
  });

  it('fails naming what it waited for and the last error', async () => {
    await expect(
      until(
        'the broker',
        async () => {
          throw new Error('ECONNREFUSED');
        },
        0,
      ),
    ).rejects.toThrow('not within 0 ms: the broker (last: Error: ECONNREFUSED)');
  });
});
