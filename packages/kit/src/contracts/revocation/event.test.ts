import { describe, expect, it } from 'vitest';
import { FlotillaError } from '../../errors/index.js';
import { assertRevocationEvent, parseRevocationEvent, revokedId } from './event.js';
import { InProcessRevocations } from './in-process.js';

describe('parseRevocationEvent', () => {
  it('accepts each type with the field that names what it revokes, as text or value', () => {
    expect(parseRevocationEvent('{"type":"token","jti":"j","at":1}')).toEqual({
      type: 'token',
      jti: 'j',
      at: 1,
    });
    expect(parseRevocationEvent({ type: 'grant', grantId: 'g', sub: 'u', clientId: 'c', at: 2 })).toEqual({
      type: 'grant',
      grantId: 'g',
      sub: 'u',
      clientId: 'c',
      at: 2,
    });
    expect(parseRevocationEvent({ type: 'user', sub: 'u', at: 3 })?.sub).toBe('u');
    expect(parseRevocationEvent({ type: 'client', clientId: 'c', at: 4 })?.clientId).toBe('c');
  });

  it('keeps only the known fields', () => {
    expect(parseRevocationEvent({ type: 'token', jti: 'j', at: 1, extra: 'x' })).toEqual({
      type: 'token',
      jti: 'j',
      at: 1,
    });
  });

  it.each([
    ['not JSON', 'nope'],
    ['null', null],
    ['an array', []],
    ['an unknown type', { type: 'session', jti: 'j', at: 1 }],
    ['a token event without jti', { type: 'token', at: 1 }],
    ['a user event without sub', { type: 'user', clientId: 'c', at: 1 }],
    ['an empty id', { type: 'grant', grantId: '', at: 1 }],
    ['an id of 513 characters', { type: 'token', jti: 'x'.repeat(513), at: 1 }],
    ['at as an ISO date (seconds only)', { type: 'user', sub: 'u', at: '2026-01-01T00:00:00Z' }],
    ['at in milliseconds', { type: 'user', sub: 'u', at: 1_767_225_600_000 }],
    ['a fractional at', { type: 'user', sub: 'u', at: 1.5 }],
    ['a negative at', { type: 'user', sub: 'u', at: -1 }],
  ])('refuses %s', (_name, value) => {
    expect(parseRevocationEvent(value)).toBeUndefined();
  });

  it('assertRevocationEvent throws FLT_VALIDATION for what a receiver would drop', () => {
    expect(() => assertRevocationEvent({ type: 'token', at: 1 })).toThrow(FlotillaError);
    expect(revokedId(assertRevocationEvent({ type: 'client', clientId: 'c', at: 1 }))).toBe('c');
  });
});

describe('InProcessRevocations replay buffer', () => {
  it('replays events after a given id and drops those older than the window', async () => {
    const bus = new InProcessRevocations({ replaySeconds: 60 });
    await bus.publish({ type: 'token', jti: 'a', at: 1 });
    const mark = bus.lastId;
    await bus.publish({ type: 'token', jti: 'b', at: 2 });
    await bus.publish({ type: 'token', jti: 'c', at: 3 });
    expect(bus.since(mark).map((n) => n.event.jti)).toEqual(['b', 'c']);
    const tiny = new InProcessRevocations({ replaySeconds: 0 });
    await tiny.publish({ type: 'token', jti: 'x', at: 1 });
    await new Promise((r) => setTimeout(r, 5));
    expect(tiny.since(0)).toEqual([]);
  });

  it('a subscriber that starts late hears the buffered events first', async () => {
    const bus = new InProcessRevocations();
    await bus.publish({ type: 'user', sub: 'u', at: 5 });
    const got: string[] = [];
    await bus.subscriber().start((e) => got.push(revokedId(e)));
    await bus.publish({ type: 'client', clientId: 'c', at: 6 });
    expect(got).toEqual(['u', 'c']);
  });
});
