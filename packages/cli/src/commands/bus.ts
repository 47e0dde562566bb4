import { resolve } from 'node:path';
import { type Handler, output, str } from '../cli/spec.js';
import { loadFleet } from '../fleet/load-fleet.js';
import type { Fleet, FleetServiceBus } from '../fleet/schema.js';
import { printJson, printTable } from '../listing.js';

/** Who does what with one queue or topic, as the fleet file declares it. */
interface BusUse {
  name: string;
  /** Senders of a queue, publishers of a topic. */
  from: string[];
  /** Consumers of a queue, subscribers of a topic. */
  to: string[];
}

function uses(fleet: Fleet, fromVerb: keyof FleetServiceBus, toVerb: keyof FleetServiceBus): BusUse[] {
  const byName = new Map<string, BusUse>();
  const entry = (name: string) => byName.get(name) ?? byName.set(name, { name, from: [], to: [] }).get(name)!;
  for (const s of fleet.services) {
    for (const name of s.bus?.[fromVerb] ?? []) entry(name).from.push(s.name);
    for (const name of s.bus?.[toVerb] ?? []) entry(name).to.push(s.name);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function listing(fromVerb: keyof FleetServiceBus, toVerb: keyof FleetServiceBus, header: string[]): Handler {
  return async (args) => {
    const fleet = await loadFleet(resolve(str(args, 'file') ?? 'flotilla.yaml'));
    const rows = uses(fleet, fromVerb, toVerb);
    if (output(args) === 'json') {
      printJson(rows.map((r) => ({ name: r.name, [fromVerb]: r.from, [toVerb]: r.to })));
      return 0;
    }
    if (rows.length === 0) {
      console.log(`the fleet file declares no ${header[0]!.toLowerCase()}s (services[].bus)`);
      return 0;
    }
    printTable(
      header,
      rows.map((r) => [r.name, r.from.join(', ') || '-', r.to.join(', ') || '-']),
    );
    return 0;
  };
}

/** `flotilla bus queues [-o json]`: each queue, the services that send to it and that consume it. */
export const queues = listing('send', 'consume', ['QUEUE', 'SENDERS', 'CONSUMERS']);

/** `flotilla bus topics [-o json]`: each topic, its publishers and its subscribing services. */
export const topics = listing('publish', 'subscribe', ['TOPIC', 'PUBLISHERS', 'SUBSCRIBERS']);
