import type { AuditEvent } from '@flotilla/kit';
import { currentTrace } from '@flotilla/kit';
import type { LimitConfig } from '../routes/route-schema.js';
import type { LeaseGrant, LeaseRequest } from '../throttle/lease-authority.js';
import { LeasedLimiter } from '../throttle/leased-limiter.js';
import { isMessage, type ToPrimary, type ToWorker } from './messages.js';

/** How long a worker waits for the primary's answer to a lease request before refusing. */
const LEASE_TIMEOUT_MS = 2_000;

/**
 * A worker's link to the gateway's primary process: leases for the shared rate limits,
 * audit events (the primary alone writes the hash-chained trail), and the ready signal.
 */
export class WorkerChannel {
  readonly #send: (m: ToPrimary) => void;
  readonly #pending = new Map<number, (grant: LeaseGrant) => void>();
  readonly #limiters = new Map<string, LeasedLimiter>();
  #next = 0;
  readonly #sweep: NodeJS.Timeout;

  constructor(send: (m: ToPrimary) => void, subscribe: (listener: (m: unknown) => void) => void) {
    this.#send = send;
    subscribe((m) => {
      if (isMessage<ToWorker>(m)) this.#receive(m);
    });
    this.#sweep = setInterval(() => this.#limiters.forEach((l) => l.sweep()), 60_000);
    this.#sweep.unref();
  }

  /** The channel of this process when it is a cluster worker. */
  static ofProcess(): WorkerChannel {
    const send = process.send?.bind(process);
    if (!send) throw new Error('not a cluster worker: there is no IPC channel');
    return new WorkerChannel(
      (m) => void send(m),
      (listener) => process.on('message', listener),
    );
  }

  /** The throttler's limiter for one policy, counting against the primary's shared windows. */
  readonly limiter = (id: string, limit: LimitConfig): LeasedLimiter => {
    let limiter = this.#limiters.get(id);
    if (!limiter) this.#limiters.set(id, (limiter = new LeasedLimiter(id, limit, this)));
    return limiter;
  };

  lease(req: LeaseRequest): Promise<LeaseGrant> {
    const id = ++this.#next;
    return new Promise<LeaseGrant>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error('the gateway primary did not answer a lease request'));
      }, LEASE_TIMEOUT_MS);
      this.#pending.set(id, (grant) => (clearTimeout(timer), resolve(grant)));
      this.#send({ type: 'gw:lease', id, req });
    });
  }

  /** Hands an audit event to the primary; the request and trace ids travel in `details`. */
  audit = async (event: AuditEvent): Promise<void> => {
    const trace = currentTrace();
    const details = {
      ...event.details,
      ...(trace?.requestId ? { requestId: trace.requestId } : {}),
      ...(trace ? { traceId: trace.traceId } : {}),
    };
    this.#send({ type: 'gw:audit', event: { ...event, details } });
  };

  ready(listening: string): void {
    this.#send({ type: 'gw:ready', listening });
  }

  close(): void {
    clearInterval(this.#sweep);
  }

  #receive(m: ToWorker): void {
    switch (m.type) {
      case 'gw:lease': {
        const done = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        done?.(m.grant);
        break;
      }
      case 'gw:give-back': {
        const returned = this.#limiters.get(m.limiter)?.giveBack(m.key, m.resetAt) ?? 0;
        this.#send({ type: 'gw:given-back', id: m.id, returned });
        break;
      }
    }
  }
}
