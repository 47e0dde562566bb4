import { randomUUID } from 'node:crypto';
import amqp, {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type GetMessage,
  type Message,
} from 'amqplib';
import { FlotillaError } from '../errors/index.js';
import { deadName, sourceQueue } from './amqp-topology.js';
import type { BusSource } from './transport.js';

/** One queue as the operator sees it on RabbitMQ. */
export interface AmqpQueueStats {
  /** The RabbitMQ queue (`flotilla.q.<queue>` or `flotilla.t.<topic>.<group>`). */
  queue: string;
  /** Messages ready for a consumer (AMQP cannot count those delivered and not acked yet). */
  depth: number;
  consumers: number;
  dead: number;
}

/** A dead letter on RabbitMQ; `id` is the message's id (the kit's envelope id), which `replay` takes. */
export interface AmqpDeadLetter {
  id: string;
  type: string;
  sender: string;
  reason: string;
  /** When it was dead-lettered (ISO 8601), empty when the broker did it without saying. */
  time: string;
  attempts: number;
}

// Headers the kit (amqp.ts) and RabbitMQ put on a dead letter; a replayed copy drops them.
const DEAD_HEADERS = /^(x-flotilla-reason|x-flotilla-dead-at|x-death|x-first-death-.*|x-last-death-.*)$/;

/**
 * The operator's side of the bus on RabbitMQ, with amqplib alone (no management plugin):
 * depths from `checkQueue`, dead letters read by `get` and given back with
 * `nack(requeue)` — a read, not a take — and replays that publish the message to its
 * source queue on a confirm channel and ack the dead letter only after the broker has
 * confirmed the copy, so a failure at any point leaves the message where it was (or,
 * after a crash between the two, in both places: at least once, never lost).
 *
 * RabbitMQ 4.0 to 4.2 count a `nack(requeue)` as a delivery of a quorum queue, whose
 * default delivery limit is 20: there, give the dead-letter queues (`*.dead`) a policy
 * with `delivery-limit: -1` before inspecting them often. 3.x and 4.3 do not count it.
 *
 * @example
 * const admin = await AmqpAdmin.open(process.env.BUS_URL!);
 * try { await admin.replayAll({ queue: 'viewed' }); } finally { await admin.close(); }
 */
export class AmqpAdmin {
  #confirm: Promise<ConfirmChannel> | undefined;
  readonly #returned = new Set<string>();

  private constructor(private readonly model: ChannelModel) {}

  static async open(url: string): Promise<AmqpAdmin> {
    try {
      const model = await amqp.connect(url, {
        timeout: 10_000,
        clientProperties: { connection_name: 'flotilla bus admin' },
      });
      model.on('error', () => undefined);
      return new AmqpAdmin(model);
    } catch (err) {
      throw new FlotillaError('FLT_BUS_UNAVAILABLE', `cannot reach RabbitMQ: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** A source's depth, consumers and dead letters; undefined when its queue was never declared. */
  async stats(source: BusSource): Promise<AmqpQueueStats | undefined> {
    const queue = sourceQueue(source);
    const main = await this.#check(queue);
    if (!main) return undefined;
    const dead = await this.#check(deadName(queue));
    return { queue, depth: main.messageCount, consumers: main.consumerCount, dead: dead?.messageCount ?? 0 };
  }

  /** Up to `limit` dead letters of a source, oldest first, left in place. */
  async deadLetters(source: BusSource, limit = 100): Promise<AmqpDeadLetter[]> {
    const letters: AmqpDeadLetter[] = [];
    await this.#scan(source, async (msg) => {
      if (letters.length < limit) letters.push(describe(msg));
    });
    return letters;
  }

  /** Moves the dead letter with message id `id` back to its source queue; FLT_NOT_FOUND if none. */
  async replay(source: BusSource, id: string): Promise<void> {
    let found = false;
    await this.#scan(source, async (msg, ch) => {
      if (found || msg.properties.messageId !== id) return;
      await this.#republish(sourceQueue(source), msg);
      ch.ack(msg);
      found = true;
    });
    if (!found)
      throw new FlotillaError('FLT_NOT_FOUND', `no dead letter ${id} in ${deadName(sourceQueue(source))}`);
  }

  /** Moves every dead letter of a source (those there when it starts) back to it; answers how many. */
  async replayAll(source: BusSource): Promise<number> {
    let moved = 0;
    await this.#scan(source, async (msg, ch) => {
      await this.#republish(sourceQueue(source), msg);
      ch.ack(msg);
      moved++;
    });
    return moved;
  }

  async close(): Promise<void> {
    await this.model.close().catch(() => undefined);
  }

  /**
   * Gets every dead letter of the source one by one — as many as it holds now, so that
   * letters dead again meanwhile are not taken twice — holding each unacked until the
   * end; whatever `visit` did not ack goes back with `nack(requeue)`, all together, so
   * that the queue keeps its order (a quorum queue may put a returned message last).
   */
  async #scan(source: BusSource, visit: (msg: GetMessage, ch: Channel) => Promise<void>): Promise<void> {
    const queue = sourceQueue(source);
    const dead = await this.#check(deadName(queue));
    if (!dead) throw new FlotillaError('FLT_NOT_FOUND', `no queue ${queue} on RabbitMQ`);
    const ch = await this.model.createChannel();
    ch.on('error', () => undefined);
    try {
      for (let i = 0; i < dead.messageCount; i++) {
        const msg = await ch.get(deadName(queue), { noAck: false });
        if (!msg) break;
        await visit(msg, ch);
      }
      ch.nackAll(true);
    } finally {
      // Closing also gives back anything unacked, should the nack not have gone out.
      await ch.close().catch(() => undefined);
    }
  }

  /** Publishes a dead letter's copy to `queue`, attempt reset, and resolves on the broker's confirm. */
  async #republish(queue: string, msg: GetMessage): Promise<void> {
    const ch = await this.#confirmChannel();
    const { messageId, type, timestamp, headers } = msg.properties as {
      messageId?: string;
      type?: string;
      timestamp?: number;
      headers?: Record<string, unknown>;
    };
    const kept = Object.fromEntries(Object.entries(headers ?? {}).filter(([k]) => !DEAD_HEADERS.test(k)));
    const key = randomUUID(); // names this copy, should the broker return it
    await new Promise<void>((resolve, reject) => {
      ch.publish(
        '',
        queue,
        resetAttempt(msg.content),
        {
          persistent: true,
          mandatory: true,
          contentType: 'application/json',
          headers: { ...kept, 'x-flotilla-replay': key },
          ...(messageId ? { messageId } : {}),
          ...(type ? { type } : {}),
          ...(timestamp ? { timestamp } : {}),
        },
        (err: Error | null) => {
          if (err)
            reject(
              new FlotillaError(
                'FLT_BUS_REFUSED',
                `replay of ${messageId ?? '?'} not confirmed: ${err.message}`,
              ),
            );
          else if (this.#returned.delete(key))
            reject(new FlotillaError('FLT_BUS_REFUSED', `replay of ${messageId ?? '?'}: no queue ${queue}`));
          else resolve();
        },
      );
    });
  }

  #confirmChannel(): Promise<ConfirmChannel> {
    this.#confirm ??= this.model.createConfirmChannel().then((ch) => {
      ch.on('error', () => undefined);
      ch.on('close', () => (this.#confirm = undefined));
      // basic.return comes before the confirm of an unroutable message.
      ch.on('return', (m: Message) => {
        const key: unknown = m.properties.headers?.['x-flotilla-replay'];
        if (typeof key === 'string') this.#returned.add(key);
      });
      return ch;
    });
    return this.#confirm;
  }

  /** `checkQueue` on a channel of its own (a missing queue closes the channel). */
  async #check(queue: string): Promise<{ messageCount: number; consumerCount: number } | undefined> {
    const ch = await this.model.createChannel();
    ch.on('error', () => undefined);
    try {
      return await ch.checkQueue(queue);
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw new FlotillaError('FLT_BUS_UNAVAILABLE', `checking ${queue}: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      await ch.close().catch(() => undefined);
    }
  }
}

/** The kit's envelope starts again at attempt 1; bytes that are not one travel unchanged. */
function resetAttempt(content: Buffer): Buffer {
  try {
    const value = JSON.parse(content.toString('utf8')) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value) && 'attempt' in value)
      return Buffer.from(JSON.stringify({ ...value, attempt: 1 }), 'utf8');
  } catch {
    // not JSON: not the kit's, replayed as it is
  }
  return content;
}

function describe(msg: GetMessage): AmqpDeadLetter {
  const headers = (msg.properties.headers ?? {}) as Record<string, unknown>;
  let envelope: { type?: unknown; sender?: unknown; attempt?: unknown } = {};
  try {
    envelope = JSON.parse(msg.content.toString('utf8')) as typeof envelope;
  } catch {
    // not JSON: described from its properties alone
  }
  const death = (headers['x-death'] as Array<{ reason?: string; count?: number }> | undefined)?.[0];
  return {
    id: String(msg.properties.messageId ?? ''),
    type: String(msg.properties.type ?? envelope.type ?? '-'),
    sender: typeof envelope.sender === 'string' ? envelope.sender : '-',
    reason:
      text(headers['x-flotilla-reason']) ?? `dead-lettered by the broker: ${death?.reason ?? 'unknown'}`,
    time: text(headers['x-flotilla-dead-at']) ?? '',
    attempts: typeof envelope.attempt === 'number' ? envelope.attempt : (death?.count ?? 0),
  };
}

/** A header's text: a string, or the bytes amqplib hands some strings as. */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}
