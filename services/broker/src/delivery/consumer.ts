import { randomBytes } from 'node:crypto';
import type { Delivery } from '@flotilla/kit/contracts';

/** One open delivery stream: a service's instance reading one queue. */
export class Consumer {
  readonly id = randomBytes(16).toString('base64url');
  /** Ids of the messages leased to it and not yet settled. */
  readonly inflight = new Set<string>();
  closed = false;

  constructor(
    readonly queue: string,
    readonly service: string,
    readonly prefetch: number,
    private readonly write: (delivery: Delivery) => void,
  ) {}

  get capacity(): number {
    return this.closed ? 0 : this.prefetch - this.inflight.size;
  }

  deliver(delivery: Delivery): void {
    this.inflight.add(delivery.id);
    this.write(delivery);
  }
}
