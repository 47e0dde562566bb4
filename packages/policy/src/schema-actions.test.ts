import { describe, expect, it } from 'vitest';
import { fleetSchema } from '../test/fixtures.js';
import { PolicyError, schemaActions } from './index.js';

describe('schemaActions', () => {
  it('lists each declared action with the types it applies to', () => {
    const actions = schemaActions(
      [
        'entity User; entity Route; entity Video;',
        'action "video:Read" appliesTo { principal: [User], resource: [Video, Route] };',
        'action "group";',
      ].join('\n'),
    );
    expect(actions).toEqual([
      { type: 'Action', id: 'group', principalTypes: [], resourceTypes: [] },
      { type: 'Action', id: 'video:Read', principalTypes: ['User'], resourceTypes: ['Video', 'Route'] },
    ]);
  });

  it('qualifies names declared in a namespace', () => {
    const [action] = schemaActions(
      'namespace App { entity User; entity Doc; action "read" appliesTo { principal: User, resource: Doc }; }',
    );
    expect(action).toEqual({
      type: 'App::Action',
      id: 'read',
      principalTypes: ['App::User'],
      resourceTypes: ['App::Doc'],
    });
  });

  it('declares every action the fleet file names for its gateway routes, on Route', async () => {
    const onRoute = schemaActions(await fleetSchema())
      .filter((a) => a.resourceTypes.includes('Route'))
      .map((a) => a.id);
    for (const id of [
      'video:Read',
      'video:Create',
      'video:Update',
      'video:Delete',
      'history:Read',
      'history:Record',
    ])
      expect(onRoute, id).toContain(id);
  });

  it('refuses a schema that does not parse, naming file and line', () => {
    let caught: unknown;
    try {
      schemaActions(
        'entity User;\naction "x" appliesTo { principal: [User], resource: [Nope] ',
        'edge.cedarschema',
      );
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PolicyError);
    expect((caught as PolicyError).code).toBe('FLT_POLICY_SCHEMA_INVALID');
    expect((caught as PolicyError).message).toMatch(/^edge\.cedarschema:2:/);
  });
});
