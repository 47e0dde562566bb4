import type { ErrorCode } from '@flotilla/kit';

/**
 * A request the CA turns down. `reason` is stable (metric label, audit reason);
 * routes turn it into problem+json after auditing it.
 */
export class Refusal extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly reason: string,
    message: string,
    /** The service the request was about, when known (audit target). */
    readonly service?: string,
  ) {
    super(message);
    this.name = 'Refusal';
  }
}
