import { FlotillaError } from '@flotilla/errors';
import { AmqpAdmin, type BusSource } from '@flotilla/kit';
import { BrokerAdminClient, subscriptionOf } from '@flotilla/kit/contracts';
import type { Args } from '../cli/spec.js';
import { withOperator } from '../control-plane/operator.js';
import { fleetHome } from '../home.js';
import { readState } from '../up/fleet-state.js';

/** A queue's live figures; `inFlight` only where the broker can tell (the embedded one). */
export interface LiveStats {
  depth: number;
  inFlight?: number;
  dead: number;
}

/** A dead letter, on either broker. `id` is what `replay` takes. */
export interface LiveDeadLetter {
  id: string;
  source: BusSource;
  type: string;
  sender: string;
  reason: string;
  time: string;
  attempts: number;
}

/**
 * The running fleet's bus, as the operator sees it: the embedded broker's admin API (as
 * the `operator` workload over mTLS; Cedar `bus:Inspect` / `bus:Replay`, audited by the
 * broker), or RabbitMQ through amqplib when the fleet runs on BUS_URL. `sources` are the
 * queues and subscriptions the fleet file declares: RabbitMQ cannot list its queues over
 * AMQP, so they are where it looks.
 */
export interface LiveBus {
  readonly kind: 'embedded broker' | 'RabbitMQ';
  stats(source: BusSource): Promise<LiveStats | undefined>;
  deadLetters(source: BusSource | undefined, limit: number): Promise<LiveDeadLetter[]>;
  /** Replays one dead letter; answers the source it went back to. FLT_NOT_FOUND when unknown. */
  replay(id: string): Promise<BusSource>;
  replayAll(source: BusSource): Promise<number>;
}

const NOT_RUNNING =
  'the fleet is not running: start it ("flotilla up"), or set FLOTILLA_BROKER_URL (embedded broker)';
const NO_BROKER =
  'the running fleet has no broker: no service declares bus:, and BUS_URL (RabbitMQ) is not set here';

/**
 * Runs `use` with the running fleet's bus, or with undefined when no fleet runs (and no
 * broker is named): the embedded broker when the fleet has one or FLOTILLA_BROKER_URL
 * names it, RabbitMQ when the fleet runs and BUS_URL is set.
 */
export async function withLiveBus<T>(
  args: Args,
  sources: readonly BusSource[],
  use: (bus: LiveBus | undefined) => Promise<T>,
): Promise<T> {
  const state = await readState(fleetHome(args)).catch(() => undefined);
  const embedded =
    process.env.FLOTILLA_BROKER_URL ?? state?.processes.find((p) => p.service === 'broker')?.url;
  if (embedded)
    return withOperator(args, async ({ mtls, urlOf }) => use(embeddedBus(mtls, await urlOf('broker'))));
  const busUrl = process.env.BUS_URL;
  if (!state || !busUrl) return use(undefined);
  const admin = await AmqpAdmin.open(busUrl);
  try {
    return await use(rabbitBus(admin, sources));
  } finally {
    await admin.close();
  }
}

/** {@link withLiveBus} for commands that need the bus: no fleet is a one-line error. */
export function requireLiveBus<T>(
  args: Args,
  sources: readonly BusSource[],
  use: (bus: LiveBus) => Promise<T>,
): Promise<T> {
  return withLiveBus(args, sources, async (bus) => {
    if (bus) return use(bus);
    const running = await readState(fleetHome(args)).then(
      () => true,
      () => false,
    );
    throw new FlotillaError('FLT_UNAVAILABLE', running ? NO_BROKER : NOT_RUNNING);
  });
}

type Mtls = Parameters<Parameters<typeof withOperator>[1]>[0]['mtls'];

function embeddedBus(mtls: Mtls, url: string): LiveBus {
  const admin = new BrokerAdminClient((r) => mtls.request('broker', url, r));
  const sourceOf = (d: {
    queue: string;
    topic?: string | undefined;
    group?: string | undefined;
  }): BusSource => (d.topic && d.group ? { topic: d.topic, group: d.group } : { queue: d.queue });
  let queues: Awaited<ReturnType<BrokerAdminClient['queues']>> | undefined;
  return {
    kind: 'embedded broker',
    async stats(source) {
      queues ??= await admin.queues();
      const found = queues.find((q) =>
        'queue' in source
          ? q.queue === source.queue && !q.topic
          : q.topic === source.topic && q.group === source.group,
      );
      return found && { depth: found.depth, inFlight: found.inFlight, dead: found.dead };
    },
    async deadLetters(source, limit) {
      const list = await admin.deadLetters(source, limit);
      return list.map((d) => ({ ...d, source: sourceOf(d) }));
    },
    async replay(id) {
      if (!/^[0-9]{1,19}$/.test(id))
        throw new FlotillaError(
          'FLT_NOT_FOUND',
          `no dead letter ${id} (the embedded broker's ids are numbers)`,
        );
      const [moved] = (await admin.replay(id)).replayed;
      return sourceOf({ queue: moved!.queue, ...subscriptionOf(moved!.queue) });
    },
    async replayAll(source) {
      return (await admin.replayAll(source)).replayed.length;
    },
  };
}

function rabbitBus(admin: AmqpAdmin, sources: readonly BusSource[]): LiveBus {
  /** The declared sources whose queues exist on RabbitMQ. */
  const existing = async () => {
    const found: BusSource[] = [];
    for (const s of sources) if (await admin.stats(s)) found.push(s);
    return found;
  };
  return {
    kind: 'RabbitMQ',
    async stats(source) {
      const s = await admin.stats(source);
      return s && { depth: s.depth, dead: s.dead };
    },
    async deadLetters(source, limit) {
      const out: LiveDeadLetter[] = [];
      for (const s of source ? [source] : await existing()) {
        if (out.length >= limit) break;
        for (const d of await admin.deadLetters(s, limit - out.length)) out.push({ ...d, source: s });
      }
      return out;
    },
    async replay(id) {
      // A RabbitMQ dead letter's id is its message id: look for it in each declared source.
      for (const s of await existing()) {
        const there = await admin.deadLetters(s, Number.MAX_SAFE_INTEGER);
        if (!there.some((d) => d.id === id)) continue;
        await admin.replay(s, id);
        return s;
      }
      throw new FlotillaError('FLT_NOT_FOUND', `no dead letter ${id} in the fleet's queues`);
    },
    replayAll: (source) => admin.replayAll(source),
  };
}

/** `viewed`, or `video-uploaded (history)` for a subscription. */
export function sourceName(source: BusSource): string {
  return 'queue' in source ? source.queue : `${source.topic} (${source.group})`;
}
