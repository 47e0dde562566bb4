import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { policyErrorCodes } from './index.js';

describe('policy error codes', () => {
  it('are each documented in the README', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of Object.keys(policyErrorCodes)) expect(readme, code).toContain(`\`${code}\``);
  });
});
