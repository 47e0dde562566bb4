import { describe, expect, it } from 'vitest';
import { FLEET_DIR, fleetSchema } from '../test/fixtures.js';
import { compilePolicies, lintBucketGrants, lintPolicies, loadPolicies } from './index.js';

describe('lintPolicies', () => {
  it('flags over-broad permits and leaves scoped ones and forbids alone', async () => {
    const compiled = compilePolicies({
      schema: await fleetSchema(),
      files: {
        'broad.cedar': [
          'permit(principal, action, resource);',
          'permit(principal, action, resource is Video) when { resource.owner == principal };',
          'permit(principal, action == Action::"video:Read", resource);',
          'permit(principal == Service::"history", action, resource);',
          'permit(principal is User, action == Action::"video:Read", resource is Video);',
          'forbid(principal, action, resource);',
        ].join('\n'),
      },
    });
    expect(lintPolicies(compiled).map((w) => [w.line, w.rule])).toEqual([
      [1, 'permit-all'],
      [2, 'any-principal-any-action'],
      [3, 'unconditional-any-principal'],
      [4, 'unconditional-any-action'],
    ]);
  });

  it('finds nothing to flag in the fleet policies', async () => {
    expect(lintPolicies(await loadPolicies({ dir: FLEET_DIR }))).toEqual([]);
  });
});

describe('lintBucketGrants', () => {
  it('flags a grant on a bucket the service did not declare, not one it did', async () => {
    const compiled = compilePolicies({
      schema: await fleetSchema(),
      files: {
        'iam.cedar': [
          'permit(principal == Service::"history", action == Action::"storage:GetObject", resource in Bucket::"videos");',
          'permit(principal == Service::"history", action == Action::"storage:ListBucket", resource == Bucket::"thumbs");',
          'permit(principal == Service::"ghost", action == Action::"storage:ListBucket", resource == Bucket::"thumbs");',
          'forbid(principal == Service::"history", action, resource in Bucket::"secrets");',
        ].join('\n'),
      },
    });
    expect(lintBucketGrants(compiled, { history: ['videos'] }).map((w) => [w.line, w.rule])).toEqual([
      [2, 'undeclared-bucket'],
    ]);
  });
});
