import { type ErrorCode, FlotillaError } from '@flotilla/kit';

/**
 * A request the CA turns down, with the code the caller sees. `reason` is stable (metric
 * label, audit reason); routes audit it before it becomes problem+json.
 */
export class Refusal extends FlotillaError {
  constructor(
    code: ErrorCode,
    readonly reason: string,
    message: string,
    /** The service the request was about, when known (audit target). */
    readonly service?: string,
  ) {
    super(code, message);
    this.name = 'Refusal';
  }
}
