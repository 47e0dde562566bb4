import type { RevocationEvent, RevocationSubscriber } from './events.js';

/**
 * An in-process revocation bus: every subscriber made from it hears every event
 * published afterwards, and the events published before it started (as Redis keeps
 * denied ids for a replica that starts late). For tests and single-process runs.
 */
export class MemoryRevocationBus {
  readonly #listeners = new Set<(event: RevocationEvent) => void>();
  readonly #history: RevocationEvent[] = [];

  publish(event: RevocationEvent): void {
    this.#history.push(event);
    for (const listener of this.#listeners) listener(event);
  }

  subscriber(): RevocationSubscriber {
    const listeners = this.#listeners;
    const history = this.#history;
    let mine: ((event: RevocationEvent) => void) | undefined;
    return {
      connected: true,
      async start(onEvent) {
        mine = onEvent;
        history.forEach(onEvent);
        listeners.add(onEvent);
      },
      async close() {
        if (mine) listeners.delete(mine);
      },
    };
  }
}
