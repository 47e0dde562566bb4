import { setTimeout as sleep } from 'node:timers/promises';
import type { Channel, ChannelModel, ConsumeMessage, Options } from 'amqplib';
import type { Logger } from 'pino';
import { deadName } from './amqp-topology.js';
import { encodeEnvelope } from './envelope.js';
import { CANCEL_DRAIN_MS, type Delivery } from './transport.js';

/** Headers a dead letter carries: why, and when. */
export const REASON = 'x-flotilla-reason';
export const DEAD_AT = 'x-flotilla-dead-at';

/** How a consumer puts a message back durably: the transport's confirmed publish. */
export interface Republisher {
  publishBytes(
    exchange: string,
    routingKey: string,
    bytes: Buffer,
    options: Options.Publish & { messageId: string },
    mandatory: boolean,
  ): Promise<void>;
}

/** Why the broker itself dead-lettered a message (the quorum queue's delivery limit), from `x-death`. */
export function brokerReason(headers: Record<string, unknown>): string {
  const death = (headers['x-death'] as { reason?: string }[] | undefined)?.[0];
  return `dead-lettered by the broker: ${death?.reason ?? 'unknown'}`;
}

/** One consumer on its own channel; started again on each new connection. */
export class AmqpConsumer {
  private channel: Channel | undefined;
  private consumerTag: string | undefined;
  private stopped = false;
  /** Handlers running now, so that a cancel can let them finish. */
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly transport: Republisher,
    private readonly queue: string,
    private readonly handler: (delivery: Delivery) => Promise<void>,
    private readonly prefetch: number,
    private readonly log: Logger | undefined,
  ) {}

  async start(model: ChannelModel): Promise<void> {
    if (this.stopped) return;
    const ch = await model.createChannel();
    ch.on('error', () => undefined);
    await ch.prefetch(this.prefetch);
    const { consumerTag } = await ch.consume(this.queue, (msg) => msg && this.deliver(ch, msg), {
      noAck: false,
    });
    this.channel = ch;
    this.consumerTag = consumerTag;
  }

  /** With `drain`, running handlers may settle first (basic.cancel stops new deliveries meanwhile). */
  async stop(drain = true): Promise<void> {
    this.stopped = true;
    const ch = this.channel;
    this.channel = undefined;
    if (!ch) return;
    if (drain && this.consumerTag) {
      await ch.cancel(this.consumerTag).catch(() => undefined);
      await Promise.race([
        Promise.allSettled([...this.running]),
        sleep(CANCEL_DRAIN_MS, undefined, { ref: false }),
      ]);
    }
    // Closing the channel returns its unacknowledged messages to the queue.
    await ch.close().catch(() => undefined);
  }

  private deliver(ch: Channel, msg: ConsumeMessage): void {
    let settled = false;
    const settle = (what: string) => {
      if (settled) throw new Error(`message already settled; cannot ${what}`);
      settled = true;
    };
    const { transport, queue } = this;
    const messageId = String(msg.properties.messageId ?? '');
    const userId: unknown = msg.properties.userId;
    const delivery: Delivery = {
      bytes: msg.content,
      redelivered: msg.fields.redelivered,
      // Only a per-service user is an identity (a shared `guest` vouches for no one).
      publisher: typeof userId === 'string' && userId.startsWith('spiffe://') ? userId : undefined,
      async ack() {
        settle('ack');
        ch.ack(msg);
      },
      async nack() {
        settle('nack');
        ch.nack(msg, false, true);
      },
      async retry(envelope) {
        settle('retry');
        await transport.publishBytes(
          '',
          queue,
          encodeEnvelope(envelope),
          { messageId, type: envelope.type },
          true,
        );
        ch.ack(msg);
      },
      async deadLetter(reason) {
        settle('dead-letter');
        const headers = { [REASON]: reason, [DEAD_AT]: new Date().toISOString() };
        await transport.publishBytes('', deadName(queue), msg.content, { messageId, headers }, true);
        ch.ack(msg);
      },
    };
    const running = this.handler(delivery).catch((err: unknown) => {
      // Unsettled (the channel or connection went away): the broker redelivers it.
      this.log?.warn({ err, messageId, queue }, 'bus: delivery not settled; the broker will redeliver it');
    });
    this.running.add(running);
    void running.finally(() => this.running.delete(running));
  }
}
