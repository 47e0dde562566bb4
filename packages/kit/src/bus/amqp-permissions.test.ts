import { describe, expect, it } from 'vitest';
import { busPermissions, busResources, busTopology, escapeRegex, exactly } from './amqp-permissions.js';

/** RabbitMQ matches permission regexes with PCRE; for these anchored alternations JS agrees. */
const matches = (regex: string, name: string) => new RegExp(regex).test(name);

describe('RabbitMQ permissions per service (amqp-permissions)', () => {
  it('gives a sender only the default exchange, and nothing to configure or read', () => {
    expect(busPermissions('streaming', { send: ['viewed'] })).toEqual({
      configure: '^$',
      write: '^(amq\\.default)$',
      read: '^$',
    });
  });

  it('gives a consumer its queue and its dead letters, and the default exchange for retries', () => {
    expect(busResources('history', { consume: ['viewed'] })).toEqual({
      configure: ['flotilla.q.viewed', 'flotilla.q.viewed.dead'],
      write: ['amq.default'],
      read: ['flotilla.q.viewed', 'flotilla.q.viewed.dead'],
    });
  });

  it("gives a publisher its topic's exchange; a subscriber its own subscription queue and a read of the exchange", () => {
    expect(busResources('streaming', { publish: ['video-viewed'] })).toEqual({
      configure: [],
      write: ['flotilla.t.video-viewed'],
      read: [],
    });
    const sub = busResources('history', { subscribe: ['video-viewed'] });
    expect(sub.configure).toEqual([
      'flotilla.t.video-viewed.history',
      'flotilla.t.video-viewed.history.dead',
    ]);
    expect(sub.write).toEqual(['amq.default', 'flotilla.t.video-viewed.history']);
    expect(sub.read).toEqual([
      'flotilla.t.video-viewed',
      'flotilla.t.video-viewed.history',
      'flotilla.t.video-viewed.history.dead',
    ]);
  });

  it('matches exactly its own names: no prefix, suffix, neighbour or wildcard dot', () => {
    const p = busPermissions('history', { consume: ['viewed'], subscribe: ['video-viewed'] });
    expect(matches(p.read, 'flotilla.q.viewed')).toBe(true);
    expect(matches(p.read, 'flotilla.q.viewedX')).toBe(false);
    expect(matches(p.read, 'xflotilla.q.viewed')).toBe(false);
    expect(matches(p.read, 'flotillaXqXviewed')).toBe(false); // an unescaped dot would match
    expect(matches(p.read, 'flotilla.t.video-viewed.recommendations')).toBe(false); // another subscriber
    expect(matches(p.configure, 'flotilla.t.video-viewed')).toBe(false); // the shared exchange
    expect(matches(p.write, '')).toBe(false);
  });

  it('escapes every regex metacharacter, and grants nothing for no names', () => {
    expect(escapeRegex('a.b*c+d?e(f)[g]{h}|i^j$k\\l')).toBe(
      'a\\.b\\*c\\+d\\?e\\(f\\)\\[g\\]\\{h\\}\\|i\\^j\\$k\\\\l',
    );
    expect(exactly([])).toBe('^$');
    expect(busPermissions('idle', {})).toEqual({ configure: '^$', write: '^$', read: '^$' });
  });

  it("declares the fleet's queues, exchanges and bindings once", () => {
    expect(
      busTopology([
        { name: 'streaming', bus: { send: ['viewed'], publish: ['video-viewed'] } },
        { name: 'history', bus: { consume: ['viewed'], subscribe: ['video-viewed'] } },
        { name: 'recommendations', bus: { subscribe: ['video-viewed'] } },
        { name: 'web' },
      ]),
    ).toEqual({
      queues: [
        'flotilla.q.viewed',
        'flotilla.t.video-viewed.history',
        'flotilla.t.video-viewed.recommendations',
      ],
      exchanges: ['flotilla.t.video-viewed'],
      bindings: [
        { queue: 'flotilla.t.video-viewed.history', exchange: 'flotilla.t.video-viewed' },
        { queue: 'flotilla.t.video-viewed.recommendations', exchange: 'flotilla.t.video-viewed' },
      ],
    });
  });
});
