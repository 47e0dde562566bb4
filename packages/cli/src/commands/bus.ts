import { resolve } from 'node:path';
import type { BusSource } from '@flotilla/kit';
import { type LiveBus, type LiveStats, requireLiveBus, sourceName, withLiveBus } from '../bus/live-bus.js';
import { type Args, bool, type Handler, output, str } from '../cli/spec.js';
import { UsageError } from '../cli/usage-error.js';
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

const readFleet = (args: Args) => loadFleet(resolve(str(args, 'file') ?? 'flotilla.yaml'));

/**
 * The sources to look in, for the admin commands: the embedded broker knows its queues,
 * so without --file a missing fleet file is no error there (RabbitMQ then finds none).
 */
async function adminSources(args: Args): Promise<BusSource[]> {
  const fleet = str(args, 'file') ? await readFleet(args) : await readFleet(args).catch(() => undefined);
  return fleet ? declaredSources(fleet) : [];
}

/** Every queue and topic subscription the fleet file declares (where RabbitMQ's admin looks). */
function declaredSources(fleet: Fleet): BusSource[] {
  return [
    ...uses(fleet, 'send', 'consume').map((u) => ({ queue: u.name })),
    ...uses(fleet, 'publish', 'subscribe').flatMap((u) => u.to.map((group) => ({ topic: u.name, group }))),
  ];
}

/** A row's live figures: a queue's own, or the sum of a topic's subscription copies. */
async function liveOf(bus: LiveBus, sources: BusSource[]): Promise<LiveStats> {
  const total: LiveStats = { depth: 0, dead: 0 };
  for (const s of sources) {
    const got = await bus.stats(s);
    total.depth += got?.depth ?? 0;
    total.dead += got?.dead ?? 0;
    if (got?.inFlight !== undefined) total.inFlight = (total.inFlight ?? 0) + got.inFlight;
  }
  return total;
}

function listing(fromVerb: keyof FleetServiceBus, toVerb: keyof FleetServiceBus, header: string[]): Handler {
  const topics = fromVerb === 'publish';
  return async (args) => {
    const fleet = await readFleet(args);
    const rows = uses(fleet, fromVerb, toVerb);
    const sourcesOf = (r: BusUse): BusSource[] =>
      topics ? r.to.map((group) => ({ topic: r.name, group })) : [{ queue: r.name }];
    // Depths when the fleet runs; the declarations alone (and why) when it cannot say.
    const live = await withLiveBus(args, declaredSources(fleet), async (bus) =>
      bus ? Promise.all(rows.map((r) => liveOf(bus, sourcesOf(r)))) : undefined,
    ).catch((err: unknown) => {
      process.stderr.write(`flotilla: no depths: ${(err as Error).message}\n`);
      return undefined;
    });
    if (output(args) === 'json') {
      printJson(
        rows.map((r, i) => ({ name: r.name, [fromVerb]: r.from, [toVerb]: r.to, ...(live ? live[i] : {}) })),
      );
      return 0;
    }
    if (rows.length === 0) {
      console.log(`the fleet file declares no ${header[0]!.toLowerCase()}s (services[].bus)`);
      return 0;
    }
    printTable(
      live ? [...header, 'DEPTH', 'DEAD'] : header,
      rows.map((r, i) => [
        r.name,
        r.from.join(', ') || '-',
        r.to.join(', ') || '-',
        ...(live ? [String(live[i]!.depth), String(live[i]!.dead)] : []),
      ]),
    );
    return 0;
  };
}

/** `flotilla bus queues [-o json]`: each queue, its senders and consumers; depth and dead letters when the fleet runs. */
export const queues = listing('send', 'consume', ['QUEUE', 'SENDERS', 'CONSUMERS']);

/** `flotilla bus topics [-o json]`: each topic, its publishers and subscribers; depth and dead letters when the fleet runs. */
export const topics = listing('publish', 'subscribe', ['TOPIC', 'PUBLISHERS', 'SUBSCRIBERS']);

/** `<queue>`, or `--topic T --group G`; undefined for neither (every source). */
function sourceArg(args: Args, positional: string | undefined): BusSource | undefined {
  const topic = str(args, 'topic');
  const group = str(args, 'group');
  if (topic !== undefined || group !== undefined) {
    if (!topic || !group)
      throw new UsageError('name a topic with --topic and its subscribing service with --group');
    if (positional) throw new UsageError('name a queue, or --topic and --group, not both');
    return { topic, group };
  }
  return positional ? { queue: positional } : undefined;
}

function limitArg(args: Args): number {
  const text = str(args, 'limit') ?? '100';
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 1000)
    throw new UsageError(`--limit must be 1 to 1000, not "${text}"`);
  return n;
}

/** `flotilla bus dead-letters [<queue>|--topic T --group G] [-o json]`. */
export const deadLetters: Handler = async (args) => {
  const source = sourceArg(args, args.positionals[0]);
  const limit = limitArg(args);
  const list = await requireLiveBus(args, await adminSources(args), (bus) => bus.deadLetters(source, limit));
  if (output(args) === 'json') {
    printJson({ deadLetters: list });
    return 0;
  }
  if (list.length === 0) {
    console.log(`no dead letters${source ? ` in ${sourceName(source)}` : ''}`);
    return 0;
  }
  printTable(
    ['ID', 'SOURCE', 'TYPE', 'SENDER', 'ATTEMPTS', 'TIME', 'REASON'],
    list.map((d) => [
      d.id,
      sourceName(d.source),
      d.type,
      d.sender.replace(/^spiffe:\/\/[^/]+\/svc\//, ''),
      String(d.attempts),
      d.time || '-',
      d.reason.replace(/\s+/g, ' '),
    ]),
  );
  return 0;
};

/** `flotilla bus replay <id>` and `flotilla bus replay --all <queue>|--all --topic T --group G`. */
export const replay: Handler = async (args) => {
  const sources = await adminSources(args);
  if (bool(args, 'all')) {
    const source = sourceArg(args, args.positionals[0]);
    if (!source) throw new UsageError('replay --all: name a queue, or --topic and --group');
    const n = await requireLiveBus(args, sources, (bus) => bus.replayAll(source));
    console.log(`replayed ${n} dead letter${n === 1 ? '' : 's'} to ${sourceName(source)}`);
    return 0;
  }
  const id = args.positionals[0];
  if (!id)
    throw new UsageError('replay: name a dead letter id (flotilla bus dead-letters), or --all <queue>');
  const to = await requireLiveBus(args, sources, (bus) => bus.replay(id));
  console.log(`replayed ${id} to ${sourceName(to)}`);
  return 0;
};
