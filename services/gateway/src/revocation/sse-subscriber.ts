import { type Dispatcher, fetch as undiciFetch } from 'undici';
import { parseRevocationEvent, type RevocationEvent, type RevocationSubscriber } from './events.js';

export interface SseSubscriberOptions {
  /** `<auth>/v1/revocations/events`. */
  url: string;
  headers?: Record<string, string>;
  /**
   * How to connect, asked at each (re)connection: the kit's mTLS agent for `auth` (it
   * presents the gateway's current workload certificate and checks the server's SPIFFE
   * id; it is replaced on renewal), or the default agent without one.
   */
  dispatcher?: () => Dispatcher;
  /** Wait before reconnecting; the server's `retry:` field overrides it. */
  reconnectMs?: number;
  /** How long `start()` waits for the first connection before returning (the gateway stays unready). */
  startTimeoutMs?: number;
}

/**
 * Hears revocations from the auth server's Server-Sent Events stream (HTML Living
 * Standard §9.2 event stream format), reconnecting with `Last-Event-ID` so the server
 * can replay what was missed.
 */
export class SseRevocationSubscriber implements RevocationSubscriber {
  readonly #opts: SseSubscriberOptions;
  readonly #abort = new AbortController();
  #connected = false;
  #lastEventId: string | undefined;
  #reconnectMs: number;
  #loop: Promise<void> | undefined;

  constructor(opts: SseSubscriberOptions) {
    this.#opts = opts;
    this.#reconnectMs = opts.reconnectMs ?? 1000;
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
          ...(this.#opts.dispatcher ? { dispatcher: this.#opts.dispatcher() } : {}),
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
    let buffer = '';
    let data: string[] = [];
    let id: string | undefined;
    for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '') {
          if (id !== undefined) this.#lastEventId = id;
          const event = data.length ? decode(data.join('\n')) : undefined;
          if (event) onEvent(event);
          data = [];
          id = undefined;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') data.push(value);
        else if (field === 'id' && !value.includes('\0')) id = value;
        else if (field === 'retry' && /^\d+$/.test(value)) this.#reconnectMs = Number(value);
      }
      if (buffer.length > 1024 * 1024) throw new Error('revocation event too large');
    }
  }
}

function decode(text: string): RevocationEvent | undefined {
  try {
    return parseRevocationEvent(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
