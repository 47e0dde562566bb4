import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { Agent, type Dispatcher, fetch as undiciFetch } from 'undici';
import { parseRevocationEvent, type RevocationEvent } from './event.js';
import type { RevocationSubscriber } from './transport.js';

/** The longest event a stream may send; past it the connection is dropped and made again. */
const MAX_EVENT_CHARS = 1024 * 1024;

export interface SseSubscriberOptions {
  /** `<auth>/v1/revocations/events`. */
  url: string;
  headers?: Record<string, string>;
  /**
   * How to connect, asked at each (re)connection: the kit's mTLS agent for `auth` (it
   * presents the current workload certificate and checks the server's SPIFFE id; it is
   * replaced on renewal), or the default agent without one.
   */
  dispatcher?: () => Dispatcher;
  /** Wait before reconnecting (default 1 s); the server's `retry:` field overrides it. */
  reconnectMs?: number;
  /** How long `start()` waits for the first connection before returning (default 5 s). */
  startTimeoutMs?: number;
}

/**
 * Hears revocations from the auth service's Server-Sent Events stream, parsed by
 * `eventsource-parser` (HTML Living Standard §9.2: multi-line `data:` joined with LF),
 * reconnecting with `Last-Event-ID` so the server replays what was missed.
 *
 * @example
 * const sub = new SseRevocationSubscriber({ url: `${authUrl}${REVOCATION_EVENTS_PATH}` });
 * await sub.start((event) => denylist.apply(event));
 */
export class SseRevocationSubscriber implements RevocationSubscriber {
  readonly #opts: SseSubscriberOptions;
  readonly #abort = new AbortController();
  #connected = false;
  #lastEventId: string | undefined;
  #reconnectMs: number;
  #loop: Promise<void> | undefined;
  /** Without a dispatcher of the caller's: our own, so closing leaves no pooled socket behind. */
  readonly #agent: Agent | undefined;

  constructor(opts: SseSubscriberOptions) {
    this.#opts = opts;
    this.#reconnectMs = opts.reconnectMs ?? 1000;
    this.#agent = opts.dispatcher ? undefined : new Agent();
  }

  get connected(): boolean {
    return this.#connected;
  }

  async start(onEvent: (event: RevocationEvent) => void): Promise<void> {
    let firstConnect: () => void = () => undefined;
    const connected = new Promise<void>((resolve) => (firstConnect = resolve));
    this.#loop = this.#run(onEvent, firstConnect);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      connected,
      new Promise<void>((r) => (timer = setTimeout(r, this.#opts.startTimeoutMs ?? 5000))),
    ]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    this.#connected = false;
    await this.#agent?.destroy();
  }

  async #run(onEvent: (event: RevocationEvent) => void, onConnect: () => void): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream', ...this.#opts.headers };
        if (this.#lastEventId !== undefined) headers['last-event-id'] = this.#lastEventId;
        const res = await undiciFetch(this.#opts.url, {
          headers,
          signal,
          dispatcher: this.#opts.dispatcher?.() ?? this.#agent,
        });
        if (!res.ok || !res.body) throw new Error(`revocation stream answered ${res.status}`);
        this.#connected = true;
        onConnect();
        await this.#read(res.body, onEvent);
      } catch {
        // Reconnect below; while down, `connected` makes the gateway unready.
      }
      this.#connected = false;
      if (!signal.aborted) await sleep(this.#reconnectMs, signal);
    }
  }

  async #read(body: ReadableStream<Uint8Array>, onEvent: (event: RevocationEvent) => void): Promise<void> {
    let failure: Error | undefined;
    const parser = createParser({
      maxBufferSize: MAX_EVENT_CHARS,
      onEvent: (message) => this.#deliver(message, onEvent),
      onRetry: (ms) => (this.#reconnectMs = ms),
      onError: (err) => {
        // An over-long event: drop the connection rather than buffer without bound.
        if (err.type === 'max-buffer-size-exceeded') failure = err;
      },
    });
    for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
      parser.feed(chunk);
      if (failure) throw failure;
    }
  }

  #deliver(message: EventSourceMessage, onEvent: (event: RevocationEvent) => void): void {
    // §9.2.6: the last event id persists until the server sets another.
    if (message.id !== undefined) this.#lastEventId = message.id;
    if (message.event !== undefined && message.event !== 'message') return;
    const event = parseRevocationEvent(message.data);
    if (event) onEvent(event);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
