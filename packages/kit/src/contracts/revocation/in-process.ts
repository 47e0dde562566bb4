import { assertRevocationEvent, type RevocationEvent } from './event.js';
import type { RevocationPublisher, RevocationSubscriber } from './transport.js';

/** An event with its sequence number (the SSE stream's `id:` field). */
export interface NumberedEvent {
  readonly id: number;
  readonly event: RevocationEvent;
  /** When it was published (ms), for the replay window. */
  readonly time: number;
}

export interface InProcessRevocationsOptions {
  /** How long published events are kept for replay; default 600 s. */
  replaySeconds?: number;
  /** At most this many are kept; default 10 000. */
  maxBuffered?: number;
}

/**
 * Revocations within one process: the auth service publishes here, its SSE stream
 * serves from here, and tests and single-process runs subscribe here. Published events
 * stay in a replay buffer for `replaySeconds`: a subscriber that starts later hears them
 * first (as a Redis subscriber reads the denied ids that replicas keep), and a
 * reconnecting SSE client gets what it missed after its `Last-Event-ID`.
 *
 * @example
 * const bus = new InProcessRevocations();
 * await bus.subscriber().start((event) => denylist.apply(event));
 * await bus.publish({ type: 'token', jti, at: nowSeconds() });
 */
export class InProcessRevocations implements RevocationPublisher {
  readonly #listeners = new Set<(event: NumberedEvent) => void>();
  readonly #buffer: NumberedEvent[] = [];
  readonly #replayMs: number;
  readonly #maxBuffered: number;
  #seq = 0;

  constructor(opts: InProcessRevocationsOptions = {}) {
    this.#replayMs = (opts.replaySeconds ?? 600) * 1000;
    this.#maxBuffered = opts.maxBuffered ?? 10_000;
  }

  /** Delivers synchronously to every listener before it resolves. */
  async publish(event: RevocationEvent): Promise<void> {
    const numbered = { id: ++this.#seq, event: assertRevocationEvent(event), time: Date.now() };
    this.#buffer.push(numbered);
    this.#trim();
    for (const listener of this.#listeners) listener(numbered);
  }

  /** Listens with sequence numbers; returns the function that stops listening. */
  listen(listener: (event: NumberedEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Buffered events after `lastId`, oldest first. */
  since(lastId: number): NumberedEvent[] {
    this.#trim();
    return this.#buffer.filter((n) => n.id > lastId);
  }

  /** The sequence number of the last event published (0 before any). */
  get lastId(): number {
    return this.#seq;
  }

  /** A receiving end: it hears the buffered events first, then every new one. */
  subscriber(): RevocationSubscriber {
    let stop: (() => void) | undefined;
    return {
      get connected() {
        return stop !== undefined;
      },
      start: async (onEvent) => {
        for (const n of this.since(0)) onEvent(n.event);
        stop = this.listen((n) => onEvent(n.event));
      },
      close: async () => {
        stop?.();
        stop = undefined;
      },
    };
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }

  #trim(): void {
    const oldest = Date.now() - this.#replayMs;
    while (
      this.#buffer.length > this.#maxBuffered ||
      (this.#buffer[0] !== undefined && this.#buffer[0].time < oldest)
    ) {
      this.#buffer.shift();
    }
  }
}
