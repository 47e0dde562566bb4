import type { Gauge } from 'prom-client';

/**
 * How many messages each queue holds, counted in memory (from the database at start),
 * so that back-pressure costs no query per send.
 */
export class Depths {
  readonly #n = new Map<string, number>();

  constructor(
    initial: Map<string, number>,
    private readonly gauge: Gauge<'queue'>,
  ) {
    for (const [queue, n] of initial) this.#set(queue, n);
  }

  of(queue: string): number {
    return this.#n.get(queue) ?? 0;
  }

  add(queue: string, n = 1): void {
    this.#set(queue, this.of(queue) + n);
  }

  remove(queue: string, n = 1): void {
    this.#set(queue, Math.max(0, this.of(queue) - n));
  }

  #set(queue: string, n: number): void {
    this.#n.set(queue, n);
    this.gauge.set({ queue }, n);
  }
}
