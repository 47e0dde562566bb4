import { errorCodes, FlotillaError } from '@flotilla/errors';
import { describe, expect, it } from 'vitest';
import { PolicyError, policyErrorCodes } from './index.js';

describe('policy errors', () => {
  it('use codes of the one registry (docs/errors.md)', () => {
    for (const code of policyErrorCodes) expect(Object.hasOwn(errorCodes, code), code).toBe(true);
  });

  it('are FlotillaErrors that keep every located issue', () => {
    const issue = { file: 'a.cedar', line: 3, column: 1, message: 'unexpected token' };
    const err = new PolicyError('FLT_POLICY_INVALID', undefined, { issues: [issue] });
    expect(err).toBeInstanceOf(FlotillaError);
    expect(err).toMatchObject({
      code: 'FLT_POLICY_INVALID',
      status: 400,
      message: 'a.cedar:3:1: unexpected token',
    });
    expect(err.issues).toEqual([issue]);
  });
});
