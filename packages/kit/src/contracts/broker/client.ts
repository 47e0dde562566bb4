import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { FlotillaError } from '../../errors/index.js';
import { BROKER_ROUTES, type DeadLetter, type Delivery, type Stored } from './schemas.js';

/** One request to the broker; how it travels (discovery and mTLS, or a fixed URL) is the transport's. */
export interface BrokerRequest {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Headers, and the gap between body chunks (a delivery stream sends keep-alives). */
  timeoutMs?: number;
  signal?: AbortSignal;
}
export type BrokerTransport = (request: BrokerRequest) => Promise<Dispatcher.ResponseData>;

/** The broker writes a blank line this often on an idle delivery stream. */
export const BROKER_KEEPALIVE_MS = 5_000;

export interface BrokerClientOptions {
  /** How long `send`/`publish` keep waiting while the broker applies back-pressure (429). */
  backPressureWaitMs?: number;
  /** Timeout of one request (not of a delivery stream). */
  timeoutMs?: number;
}

/** A delivery stream: the consumer's id, then its deliveries until the stream ends. */
export interface DeliveryStream {
  consumer: string;
  deliveries: AsyncIterable<Delivery>;
  close(): void;
}

/** An ack waiting for its batch. */
interface Pending {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const path = (route: { path: string }, params: Record<string, string>): string =>
  route.path.replace(/:(\w+)/g, (_m, k: string) => encodeURIComponent(params[k] ?? ''));

/**
 * The broker's API (`services/broker`): durable queues and topics, leases settled by
 * ack/nack, dead letters. A refusal is the `FlotillaError` the broker answered with;
 * back-pressure (429 `FLT_BUS_BACKPRESSURE`) is waited out up to `backPressureWaitMs`.
 *
 * @example
 * const broker = new BrokerClient((r) => ctx.call('broker', r));
 * await broker.send('viewed', { id, type: 'viewed', data });
 * const stream = await broker.consume('viewed', 10);
 * for await (const d of stream.deliveries) await broker.ack(d.consumer, d.id);
 */
export class BrokerClient {
  readonly #send: BrokerTransport;
  readonly #waitMs: number;
  readonly #timeoutMs: number;
  readonly #acks = new Map<string, Map<string, Pending>>();
  /** Each consumer's acks not yet answered, so that a closing consumer can wait for them. */
  readonly #unanswered = new Map<string, Set<Promise<void>>>();

  constructor(transport: BrokerTransport, opts: BrokerClientOptions = {}) {
    this.#send = transport;
    this.#waitMs = opts.backPressureWaitMs ?? 30_000;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** Resolves once the broker holds the message durably. */
  send(queue: string, message: Record<string, unknown>): Promise<Stored> {
    return this.#store(path(BROKER_ROUTES.send, { queue }), message);
  }

  /** Resolves once every subscribing service's copy is held durably. */
  publish(topic: string, message: Record<string, unknown>): Promise<Stored> {
    return this.#store(path(BROKER_ROUTES.publish, { topic }), message);
  }

  /** Declares this service's subscription: from now on its copies are kept, consumer or not. */
  async subscribe(topic: string): Promise<void> {
    await this.#json('PUT', path(BROKER_ROUTES.subscribe, { topic }), {});
  }

  /**
   * Acknowledges a delivery. Acks of one consumer made in the same tick travel as one
   * request; each promise still says whether its own lease was held.
   */
  ack(consumer: string, id: string): Promise<void> {
    let batch = this.#acks.get(consumer);
    if (!batch) {
      batch = new Map();
      this.#acks.set(consumer, batch);
      setImmediate(() => void this.#flushAcks(consumer));
    }
    const pending = batch.get(id);
    if (pending) return pending.promise;
    let settle!: Omit<Pending, 'promise'>;
    const promise = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    batch.set(id, { promise, ...settle });
    this.#track(consumer, promise);
    return promise;
  }

  /**
   * Resolves once every ack `consumer` has made so far is answered (held or refused).
   * A consumer waits for this before it closes its delivery stream: closing gives its
   * leases back, and an ack still on its way would then find its lease gone and the
   * handled message would be delivered again.
   */
  async acksAnswered(consumer: string): Promise<void> {
    await Promise.allSettled([...(this.#unanswered.get(consumer) ?? [])]);
  }

  #track(consumer: string, promise: Promise<void>): void {
    let set = this.#unanswered.get(consumer);
    if (!set) this.#unanswered.set(consumer, (set = new Set()));
    set.add(promise);
    const forget = () => {
      set.delete(promise);
      if (set.size === 0 && this.#unanswered.get(consumer) === set) this.#unanswered.delete(consumer);
    };
    promise.then(forget, forget);
  }

  async #flushAcks(consumer: string): Promise<void> {
    const batch = this.#acks.get(consumer);
    this.#acks.delete(consumer);
    if (!batch) return;
    const ids = [...batch.keys()];
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      try {
        const res = (await this.#json('POST', BROKER_ROUTES.ack.path, { consumer, ids: chunk })) as {
          acked: string[];
        };
        const acked = new Set(res.acked);
        for (const id of chunk)
          if (acked.has(id)) batch.get(id)!.resolve();
          else
            batch
              .get(id)!
              .reject(
                new FlotillaError(
                  'FLT_BUS_LEASE_LOST',
                  `message ${id} is not leased to this consumer: it timed out, was redelivered or was settled`,
                ),
              );
      } catch (err) {
        for (const id of chunk) batch.get(id)!.reject(err);
      }
    }
  }

  /** Gives a message back: redelivered after a back-off, dead-lettered after the last attempt. */
  async nack(consumer: string, id: string, error: string, retry = true): Promise<void> {
    await this.#json('POST', BROKER_ROUTES.nack.path, { consumer, id, error: error.slice(0, 4096), retry });
  }

  /** Settles a lease by putting `message` (the same but for `attempt`) back on its queue, ready now. */
  async requeue(consumer: string, id: string, message: Record<string, unknown>): Promise<void> {
    await this.#json('POST', BROKER_ROUTES.requeue.path, { consumer, id, message });
  }

  async deadLetters(queue: string, limit = 100): Promise<DeadLetter[]> {
    const q = new URLSearchParams({ queue, limit: String(limit) });
    const res = (await this.#json('GET', `${BROKER_ROUTES.deadLetters.path}?${q.toString()}`)) as {
      deadLetters: DeadLetter[];
    };
    return res.deadLetters;
  }

  /** A stream of the queue's messages, at most `prefetch` unsettled at a time. */
  consume(queue: string, prefetch: number): Promise<DeliveryStream> {
    return this.#stream(`${path(BROKER_ROUTES.consume, { queue })}?prefetch=${prefetch}`);
  }

  /** A stream of this service's copies of the topic's messages (subscribes if needed). */
  subscribed(topic: string, prefetch: number): Promise<DeliveryStream> {
    return this.#stream(`${path(BROKER_ROUTES.subscribed, { topic })}?prefetch=${prefetch}`);
  }

  async #store(p: string, message: Record<string, unknown>): Promise<Stored> {
    const until = Date.now() + this.#waitMs;
    for (let wait = 20; ; wait = Math.min(wait * 2, 1_000)) {
      try {
        return (await this.#json('POST', p, { message })) as Stored;
      } catch (err) {
        const pushedBack = err instanceof FlotillaError && err.code === 'FLT_BUS_BACKPRESSURE';
        if (!pushedBack || Date.now() + wait > until) throw err;
        await sleep(wait);
      }
    }
  }

  async #json(method: BrokerRequest['method'], p: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.#send({
      method,
      path: p,
      headers,
      timeoutMs: this.#timeoutMs,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return answer(res);
  }

  async #stream(p: string): Promise<DeliveryStream> {
    const abort = new AbortController();
    const res = await this.#send({
      method: 'GET',
      path: p,
      headers: { accept: 'application/x-ndjson' },
      timeoutMs: BROKER_KEEPALIVE_MS * 4,
      signal: abort.signal,
    });
    if (res.statusCode >= 400) await answer(res);
    const lines = createInterface({ input: res.body, crlfDelay: Infinity });
    const it = lines[Symbol.asyncIterator]();
    const first = await nextLine(it);
    const consumer = (first as { consumer?: unknown } | undefined)?.consumer;
    if (typeof consumer !== 'string')
      throw new FlotillaError(
        'FLT_UPSTREAM_FAILED',
        'the broker opened a delivery stream without a consumer id',
      );
    const deliveries = async function* (): AsyncGenerator<Delivery> {
      try {
        for (;;) {
          const line = await nextLine(it);
          if (line === undefined) return;
          yield line as Delivery;
        }
      } finally {
        lines.close();
      }
    };
    return {
      consumer,
      deliveries: deliveries(),
      close: () => {
        abort.abort();
        lines.close();
      },
    };
  }
}

/** The next non-blank line as JSON; undefined at the end of the stream. */
async function nextLine(it: AsyncIterator<string>): Promise<unknown> {
  for (;;) {
    const next: IteratorResult<string> = await it.next();
    if (next.done) return undefined;
    if (next.value.trim() !== '') return JSON.parse(next.value) as unknown;
  }
}

export async function answer(res: Dispatcher.ResponseData): Promise<unknown> {
  if (res.statusCode === 204) {
    await res.body.dump();
    return undefined;
  }
  let json: unknown;
  try {
    json = await res.body.json();
  } catch (cause) {
    throw new FlotillaError('FLT_UPSTREAM_FAILED', `the broker answered ${res.statusCode} without JSON`, {
      cause,
    });
  }
  // RFC 9457: a refusal is problem+json; rebuilt with its stable code.
  if (res.statusCode >= 400) throw FlotillaError.fromProblem(json);
  return json;
}
