import type { RevocationEvent } from './event.js';

/**
 * The sending end of a revocation transport (the auth service). `publish` validates the
 * event first and resolves once the transport has taken it.
 */
export interface RevocationPublisher {
  publish(event: RevocationEvent): Promise<void>;
  close(): Promise<void>;
}

/**
 * The receiving end of a revocation transport (a gateway). Every event is validated on
 * receipt; a malformed one is dropped and delivery goes on.
 */
export interface RevocationSubscriber {
  /** Starts delivering events (including already-known ones, where the transport keeps them). */
  start(onEvent: (event: RevocationEvent) => void): Promise<void>;
  /** Whether events can currently arrive; a gateway is unready while this is false. */
  readonly connected: boolean;
  close(): Promise<void>;
}
