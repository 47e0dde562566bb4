import { describe, expect, it } from 'vitest';
import { FLEET_DIR, fleetSchema, people, user, video } from '../test/fixtures.js';
import { Authorizer, type DecisionLogEntry, loadPolicies, PolicyError } from './index.js';

const fleet = await loadPolicies({ dir: FLEET_DIR });
const schema = await fleetSchema();

describe('Authorizer.decide', () => {
  it('denies by default: nothing permits a service to read a video', () => {
    const engine = new Authorizer(fleet);
    const d = engine.decide({
      principal: 'Service::"history"',
      action: 'storage:GetObject',
      resource: 'Bucket::"videos"',
      entities: [{ uid: 'Service::"history"', attrs: { spiffeId: 'spiffe://flotilla.local/svc/history' } }],
    });
    expect(d).toEqual({ decision: 'deny', reasons: [], errors: [] });
  });

  it('denies everything with an empty policy set', () => {
    const engine = new Authorizer({ schema, files: {} });
    expect(engine.can('User::"alice"', 'video:Read', 'Video::"v1"', {}, people)).toBe(false);
  });

  it('lets any signed-in user read, and names the deciding policy', () => {
    const d = new Authorizer(fleet).decide({
      principal: 'User::"bob"',
      action: 'video:Read',
      resource: 'Video::"v1"',
      entities: people,
    });
    expect(d).toEqual({ decision: 'allow', reasons: ['flixtube-video-read'], errors: [] });
  });

  it('lets only the owner or an admin delete', () => {
    const engine = new Authorizer(fleet);
    const can = (who: string) =>
      engine.can(`User::"${who}"`, 'Action::"video:Delete"', 'Video::"v1"', {}, people);
    expect(can('alice')).toBe(true);
    expect(can('carol')).toBe(true);
    expect(can('bob')).toBe(false);
  });

  it('lets an explicit forbid override a permit', () => {
    const d = new Authorizer(fleet).decide({
      principal: 'User::"dave"',
      action: 'video:Delete',
      resource: 'Video::"v1"',
      entities: people,
    });
    expect(d.decision).toBe('deny');
    expect(d.reasons).toEqual(['flixtube-delete-others-needs-mfa']);
    // The same admin may update: the forbid is about deleting only.
    expect(new Authorizer(fleet).can('User::"dave"', 'video:Update', 'Video::"v1"', {}, people)).toBe(true);
  });

  it('denies an unknown entity type with an error naming it', () => {
    const d = new Authorizer(fleet).decide({
      principal: 'Robot::"r2"',
      action: 'video:Read',
      resource: 'Video::"v1"',
      entities: people,
    });
    expect(d.decision).toBe('deny');
    expect(d.errors.join()).toMatch(/`Robot` is not declared in the schema/);
  });

  it('denies an unknown action with an error naming it', () => {
    const d = new Authorizer(fleet).decide({
      principal: 'User::"bob"',
      action: 'video:Share',
      resource: 'Video::"v1"',
      entities: people,
    });
    expect(d.decision).toBe('deny');
    expect(d.errors.join()).toMatch(/Action::"video:Share"/);
  });

  it('denies when an entity lacks a required attribute, naming the attribute', () => {
    const d = new Authorizer(fleet).decide({
      principal: 'User::"bob"',
      action: 'video:Read',
      resource: 'Video::"v1"',
      entities: [{ uid: 'User::"bob"', attrs: { roles: [] } }, video('v1', 'alice')],
    });
    expect(d.decision).toBe('deny');
    expect(d.errors.join()).toMatch(/User::"bob".*attribute `mfa`/);
  });

  it('denies a malformed reference or context instead of throwing', () => {
    const engine = new Authorizer(fleet);
    expect(
      engine.decide({ principal: 'alice', action: 'video:Read', resource: 'Video::"v1"' }).errors[0],
    ).toMatch(/malformed entity reference "alice"/);
    const badCtx = engine.decide({
      principal: 'User::"bob"',
      action: 'video:Read',
      resource: 'Video::"v1"',
      context: { mfa: 'yes' },
      entities: people,
    });
    expect(badCtx.decision).toBe('deny');
    expect(badCtx.errors.join()).toMatch(/context .* is not valid/);
  });

  it('never allows when a policy errors, even if Cedar would (an erroring forbid is skipped)', () => {
    const engine = new Authorizer({
      schema,
      files: {
        'a.cedar': `@id("read") permit(principal is User, action == Action::"video:Read", resource);
@id("no-mfa-owner") forbid(principal, action == Action::"video:Read", resource is Video) when { !resource.owner.mfa };`,
      },
    });
    // The owner entity is missing, so `resource.owner.mfa` fails to evaluate.
    const d = engine.decide({
      principal: 'User::"bob"',
      action: 'video:Read',
      resource: 'Video::"v9"',
      entities: [user('bob'), video('v9', 'ghost')],
    });
    expect(d.decision).toBe('deny');
    expect(d.errors.join()).toMatch(/policy no-mfa-owner: .*User::"ghost"/);
  });

  it('uses its entity store, sending Cedar only what a request reaches', () => {
    const many = Array.from({ length: 1000 }, (_, i) => video(`s${i}`, `u${i % 50}`));
    const engine = new Authorizer(fleet, { entities: [...people, ...many] });
    engine.entities.upsert(Array.from({ length: 50 }, (_, i) => user(`u${i}`)));
    expect(engine.can('User::"u7"', 'video:Update', 'Video::"s57"')).toBe(true);
    expect(engine.can('User::"u8"', 'video:Update', 'Video::"s57"')).toBe(false);
    // Request entities override the store for that request only.
    expect(engine.can('User::"u8"', 'video:Update', 'Video::"s57"', {}, [video('s57', 'u8')])).toBe(true);
    expect(engine.can('User::"u8"', 'video:Update', 'Video::"s57"')).toBe(false);
  });
});

describe('decision log', () => {
  it('receives every deny (cached or not) and allows only when asked', () => {
    const log: DecisionLogEntry[] = [];
    const engine = new Authorizer(fleet, { onDecision: (e) => log.push(e) });
    const ask = (who: string, action: string) =>
      engine.decide({ principal: `User::"${who}"`, action, resource: 'Video::"v1"', entities: people });
    ask('bob', 'video:Read');
    ask('bob', 'video:Delete');
    ask('bob', 'video:Delete');
    ask('dave', 'video:Delete');
    ask('bob', 'video:Nope');
    expect(log.map((e) => [e.principal, e.action, e.decision, e.cached])).toEqual([
      ['User::"bob"', 'Action::"video:Delete"', 'deny', false],
      ['User::"bob"', 'Action::"video:Delete"', 'deny', true],
      ['User::"dave"', 'Action::"video:Delete"', 'deny', false],
      ['User::"bob"', 'Action::"video:Nope"', 'deny', false],
    ]);
    expect(log[2]?.policies).toEqual(['flixtube-delete-others-needs-mfa']);
    expect(log[3]?.errors[0]).toMatch(/video:Nope/);
    expect(Date.parse(log[0]?.time ?? '')).not.toBeNaN();

    const all: DecisionLogEntry[] = [];
    const verbose = new Authorizer(fleet, { onDecision: (e) => all.push(e), logAllows: true });
    verbose.can('User::"bob"', 'video:Read', 'Video::"v1"', {}, people);
    expect(all).toMatchObject([
      { decision: 'allow', policies: ['flixtube-video-read'], resource: 'Video::"v1"' },
    ]);
  });

  it('keeps deciding when the log sink throws', () => {
    const engine = new Authorizer(fleet, {
      onDecision: () => {
        throw new Error('sink down');
      },
    });
    expect(engine.can('User::"bob"', 'video:Delete', 'Video::"v1"', {}, people)).toBe(false);
  });
});

describe('decision cache', () => {
  const req = {
    principal: 'User::"alice"',
    action: 'video:Delete',
    resource: 'Video::"v1"',
    entities: people,
  };

  it('returns the same answer for the same request, whatever the key order', () => {
    const log: DecisionLogEntry[] = [];
    const engine = new Authorizer(fleet, { onDecision: (e) => log.push(e), logAllows: true });
    const first = engine.decide({ ...req, context: { mfa: true, sourceIp: '10.0.0.1' } });
    const second = engine.decide({ ...req, context: { sourceIp: '10.0.0.1', mfa: true } });
    expect(second).toBe(first);
    expect(log.map((e) => e.cached)).toEqual([false, true]);
    // Different entities are a different request.
    const other = engine.decide({ ...req, entities: [...people.slice(0, 5), video('v1', 'bob')] });
    expect(other.decision).toBe('deny');
  });

  it('is invalidated by a reload and by entity store changes', () => {
    const engine = new Authorizer(fleet, { entities: people });
    const ask = () => engine.can('User::"alice"', 'video:Read', 'Video::"v1"');
    expect(ask()).toBe(true);
    engine.reload({ schema, files: {} });
    expect(ask()).toBe(false);
    engine.reload(fleet);
    expect(ask()).toBe(true);
    engine.entities.remove(['User::"alice"']);
    expect(ask()).toBe(false);
    expect(
      engine.decide({ principal: 'User::"alice"', action: 'video:Read', resource: 'Video::"v1"' }).errors,
    ).toEqual(['unknown entity User::"alice" (User has required attributes)']);
  });

  it('stays bounded', () => {
    const engine = new Authorizer(fleet, { cache: { max: 2 }, onDecision: () => undefined });
    for (const id of ['a', 'b', 'c']) engine.can(`User::"${id}"`, 'video:Read', 'Video::"v1"', {}, people);
    const log: DecisionLogEntry[] = [];
    const probe = new Authorizer(fleet, { cache: { max: 2 }, onDecision: (e) => log.push(e) });
    for (const id of ['a', 'b', 'c', 'a'])
      probe.decide({ principal: `User::"${id}"`, action: 'video:Nope', resource: 'Video::"v1"' });
    // "a" was evicted by "c", so the fourth call is evaluated again.
    expect(log.map((e) => e.cached)).toEqual([false, false, false, false]);
  });
});

describe('reload', () => {
  it('keeps the previous set when the new one is invalid', () => {
    const engine = new Authorizer(fleet);
    const before = engine.version;
    expect(() =>
      engine.reload({
        schema,
        files: { 'bad.cedar': 'permit(principal, action == Action::"nope", resource);' },
      }),
    ).toThrow(PolicyError);
    expect(engine.version).toBe(before);
    expect(engine.can('User::"bob"', 'video:Read', 'Video::"v1"', {}, people)).toBe(true);
  });
});
