import { EventEmitter } from 'node:events';
import type { RevocationBus, RevocationEvent, Subscription } from './types.js';

export interface NumberedEvent {
  id: number;
  event: RevocationEvent;
  /** When it was published (ms), for the replay window. */
  time: number;
}

/**
 * In-process revocation events (until the control plane's broker exists), with a
 * replay buffer so a reconnecting subscriber of the SSE stream misses nothing from
 * the last `replaySeconds`.
 */
export class LocalRevocationBus implements RevocationBus {
  private readonly emitter = new EventEmitter();
  private readonly buffer: NumberedEvent[] = [];
  private seq = 0;

  constructor(
    private readonly replaySeconds = 600,
    private readonly maxBuffered = 10_000,
  ) {
    this.emitter.setMaxListeners(0);
  }

  async publish(event: RevocationEvent): Promise<void> {
    const numbered = { id: ++this.seq, event, time: Date.now() };
    this.buffer.push(numbered);
    this.trim();
    this.emitter.emit('event', numbered);
  }

  async subscribe(onEvent: (event: RevocationEvent) => void): Promise<Subscription> {
    return this.subscribeNumbered((n) => onEvent(n.event));
  }

  /** Subscribes with event ids (the SSE stream's `id:` field). */
  subscribeNumbered(onEvent: (event: NumberedEvent) => void): Subscription {
    this.emitter.on('event', onEvent);
    return { close: async () => void this.emitter.off('event', onEvent) };
  }

  /** Buffered events after `lastId`, oldest first. */
  since(lastId: number): NumberedEvent[] {
    this.trim();
    return this.buffer.filter((n) => n.id > lastId);
  }

  get lastId(): number {
    return this.seq;
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }

  private trim(): void {
    const oldest = Date.now() - this.replaySeconds * 1000;
    while (this.buffer.length > this.maxBuffered || (this.buffer[0] && this.buffer[0].time < oldest)) {
      this.buffer.shift();
    }
  }
}
