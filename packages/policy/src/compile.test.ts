import { describe, expect, it } from 'vitest';
import { fleetSchema, tempPolicyDir } from '../test/fixtures.js';
import { compilePolicies, loadPolicies, PolicyError } from './index.js';

const schema = await fleetSchema();

function issuesOf(fn: () => unknown): PolicyError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PolicyError) return err;
    throw err;
  }
  throw new Error('expected a PolicyError');
}

describe('compilePolicies', () => {
  it('names each policy by @id, else by file and index, with its line', () => {
    const compiled = compilePolicies({
      schema,
      files: {
        'b.cedar': '// first\n\npermit(principal is User, action == Action::"video:Read", resource);\n',
        'a.cedar': '@id("reads")\npermit(principal is User, action == Action::"video:Read", resource);',
      },
    });
    expect(compiled.policies.map((p) => [p.id, p.file, p.line, p.effect])).toEqual([
      ['reads', 'a.cedar', 1, 'permit'],
      ['b.cedar#0', 'b.cedar', 3, 'permit'],
    ]);
  });

  it('locates a validation error in the second file at the right line and column', () => {
    const err = issuesOf(() =>
      compilePolicies({
        schema,
        files: {
          'a.cedar': 'permit(principal is User, action == Action::"video:Read", resource);',
          // Multi-byte text before the error: Cedar counts bytes, lines must still be right.
          'b.cedar':
            '// é — ünïcode\npermit(principal is User, action == Action::"video:Read", resource);\n\n' +
            'permit(principal is User, action == Action::"video:Read", resource)\n  when { principal.nope };\n',
        },
      }),
    );
    expect(err.code).toBe('FLT_POLICY_INVALID');
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatchObject({ file: 'b.cedar', line: 5, column: 10, policyId: 'b.cedar#1' });
    expect(err.issues[0]?.message).toMatch(/attribute `nope` on entity type `User` not found/);
    expect(err.message).toMatch(/^b\.cedar:5: /);
  });

  it('locates a parse error and reports every broken file', () => {
    const err = issuesOf(() =>
      compilePolicies({
        schema,
        files: {
          'a.cedar': 'permit(principal, action, resource)\n  when { 1 + };',
          'c.cedar': '\n\n\nforbid(principal, action, resource) when { principal ==  };',
        },
      }),
    );
    expect(err.issues.map((i) => [i.file, i.line])).toEqual([
      ['a.cedar', 2],
      ['c.cedar', 4],
    ]);
    expect(err.message).toMatch(/\(and 1 more\)$/);
  });

  it('rejects an unknown action, an unknown entity type and a duplicate id', () => {
    const unknownAction = issuesOf(() =>
      compilePolicies({
        schema,
        files: { 'a.cedar': '\npermit(principal, action == Action::"video:Share", resource);' },
      }),
    );
    expect(unknownAction.issues[0]).toMatchObject({ file: 'a.cedar', line: 2 });
    expect(unknownAction.issues[0]?.message).toMatch(/unrecognized action `Action::"video:Share"`/);

    const unknownType = issuesOf(() =>
      compilePolicies({ schema, files: { 'a.cedar': 'permit(principal is Robot, action, resource);' } }),
    );
    expect(unknownType.issues[0]?.message).toMatch(/Robot/);

    const dup = issuesOf(() =>
      compilePolicies({
        schema,
        files: {
          'a.cedar': '@id("x") permit(principal is User, action == Action::"video:Read", resource);',
          'b.cedar': '\n\n@id("x") permit(principal is User, action == Action::"video:Read", resource);',
        },
      }),
    );
    expect(dup.issues[0]).toMatchObject({
      file: 'b.cedar',
      line: 3,
      message: 'policy id "x" is already used at a.cedar:1',
    });
  });

  it('reports a schema error at its line in the schema file', () => {
    const err = issuesOf(() => compilePolicies({ schema: 'entity User;\nentity Video {', files: {} }));
    expect(err.code).toBe('FLT_POLICY_SCHEMA_INVALID');
    expect(err.issues[0]).toMatchObject({ file: 'schema.cedarschema', line: 2 });
  });
});

describe('loadPolicies', () => {
  it('reads a directory and reports a bad file by name and line', async () => {
    const { dir, cleanup } = await tempPolicyDir({
      'good.cedar': 'permit(principal is User, action == Action::"video:Read", resource);',
      'bad.cedar':
        '// ok so far\n\npermit(principal, action == Action::"video:Read", resource)\nwhen { resource.owner.nope };',
    });
    try {
      const err = await loadPolicies({ dir }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PolicyError);
      expect((err as PolicyError).issues[0]).toMatchObject({ file: 'bad.cedar', line: 4 });
    } finally {
      await cleanup();
    }
  });

  it('fails clearly when the directory or schema is missing', async () => {
    await expect(loadPolicies({ dir: '/nonexistent/policies' })).rejects.toMatchObject({
      code: 'FLT_POLICY_SOURCE_MISSING',
    });
    await expect(loadPolicies({ dir: '.', schemaFile: 'nope.cedarschema' })).rejects.toMatchObject({
      code: 'FLT_POLICY_SOURCE_MISSING',
    });
  });
});
