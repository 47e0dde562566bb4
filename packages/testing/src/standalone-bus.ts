import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AuditEvent, Bus, type BusTransport } from '@flotilla/kit';
import { Authorizer } from '@flotilla/policy';
import pino from 'pino';
import { Registry } from 'prom-client';

const SCHEMA = join(import.meta.dirname, '..', '..', '..', 'policies', 'schema.cedarschema');

/**
 * The kit's Bus for `service` on `transport`, outside any service process: the fleet's
 * Cedar schema with `permits` as the only policies (default deny), audit events kept in
 * `audit`, logs silent. For tests that drive a transport the way `ctx.bus` would.
 *
 * @example
 * const { bus } = standaloneBus(transport, 'app', 'permit (principal == Service::"app", action == Action::"bus:Send", resource);');
 * await bus.send('jobs', Job, { n: 1 });
 */
export function standaloneBus(
  transport: BusTransport,
  service: string,
  permits: string,
): { bus: Bus; audit: AuditEvent[] } {
  const policy = new Authorizer({
    schema: readFileSync(SCHEMA, 'utf8'),
    files: { 'standalone-bus.cedar': permits },
  });
  const audit: AuditEvent[] = [];
  const bus = new Bus({
    service,
    identity: transport.identity,
    transport,
    policy: () => policy,
    audit: async (e) => audit.push(e),
    metrics: new Registry(),
    log: pino({ level: 'silent' }),
  });
  return { bus, audit };
}
