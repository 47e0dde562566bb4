import { describe, expect, it } from 'vitest';
import { type RegistryEvent, Registry } from './registry.js';

describe('Registry', () => {
  const at = (t: { now: number }) => new Registry(() => t.now);

  it('counts heartbeats and keeps the last one', () => {
    const clock = { now: 1_000 };
    const registry = at(clock);
    const instance = registry.register({ service: 'a', address: '127.0.0.1', port: 1 });
    clock.now = 2_000;
    expect(registry.heartbeat(instance.id)).toBe(true);
    clock.now = 2_500;
    registry.beat(instance);
    expect(registry.get(instance.id)).toMatchObject({ heartbeats: 2, lastHeartbeat: 2_500 });
    expect(registry.heartbeat('unknown')).toBe(false);
  });

  it('expires only the instances whose last heartbeat is older than the TTL', () => {
    const clock = { now: 0 };
    const registry = at(clock);
    const stale = registry.register({ service: 'a', address: '127.0.0.1', port: 1 });
    const fresh = registry.register({ service: 'a', address: '127.0.0.1', port: 2 });
    const events: RegistryEvent[] = [];
    registry.on('change', (e) => events.push(e));
    clock.now = 4_000;
    registry.beat(fresh);
    expect(registry.expire(5_000)).toEqual([]);
    clock.now = 6_000;
    expect(registry.expire(5_000).map((i) => i.id)).toEqual([stale.id]);
    expect(registry.all().map((i) => i.id)).toEqual([fresh.id]);
    expect(events).toEqual([{ type: 'down', id: stale.id, service: 'a', reason: 'ttl' }]);
  });
});
