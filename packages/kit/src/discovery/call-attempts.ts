import type { Dispatcher } from 'undici';
import type { FlotillaError } from '../errors/index.js';
import type { MtlsClient } from '../identity/mtls-client.js';
import type { CallAccounting } from './call-accounting.js';
import { DEFAULT_CALL_TIMEOUT_MS, type DispatchCall } from './call-request.js';
import {
  callFailure,
  endedByCaller,
  RETRYABLE_STATUS,
  replayableAfterAnswer,
  replayableAfterFailure,
  retryableMethod,
} from './call-rules.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { type Instance, originOf } from './instance.js';
import type { InstancePicker } from './instance-picker.js';

/** The steps below the state machine, shared by every call of one client. */
export interface CallPath {
  /** Resolve and balance. */
  picker: InstancePicker;
  accounting: CallAccounting;
  /** The mTLS dispatch: a pooled agent per service, checking the peer's SPIFFE ID. */
  mtls: Pick<MtlsClient, 'agentFor'>;
  maxAttempts: number;
}

// The attempt under way has sent its request and waits for an answer.
const WAITING = 0;
// Its answer is a retried status: the body is read and dropped, then the next attempt starts.
const DISCARDING = 1;
// Its answer went to the caller: what follows (data, end, error) is the caller's.
const PASSED = 2;
// The call is over: answered in full, failed, or ended by the caller.
const OVER = 3;
type Phase = typeof WAITING | typeof DISCARDING | typeof PASSED | typeof OVER;

/**
 * One call across its attempts, forward only: resolve → balance → attempt → mTLS dispatch.
 * It is undici's handler for each of its attempts in turn (one at a time), so an attempt's
 * outcome arrives here and nowhere else: the accounting is told once per attempt (in flight,
 * outlier success or failure) and the breaker once per call; only the attempt that answers
 * reaches the caller's handler. The steps below it are told, never asked to call back.
 *
 * The rules: a 502/503/504 or a failure without an answer is retried on another instance
 * when the method is idempotent (or the caller says so), attempts are left and the retry
 * budget grants one — and the body can be sent again (see `replayableAfterAnswer` and
 * `replayableAfterFailure`: a streamed body only when none of it was read). A cancellation
 * by the caller is not retried and not held against the instance.
 */
export class CallAttempts implements Dispatcher.DispatchHandler {
  readonly #path: CallPath;
  readonly #service: string;
  readonly #req: DispatchCall;
  readonly #handler: Dispatcher.DispatchHandler;
  readonly #breaker: CircuitBreaker;
  #phase: Phase = WAITING;
  #attempts = 0;
  /** The instance of the attempt under way. */
  #instance: Instance | undefined;
  /** Instances tried by earlier attempts; made at the first retry only. */
  #tried: Set<string> | undefined;
  #lastError: Error | undefined;

  constructor(
    path: CallPath,
    service: string,
    req: DispatchCall,
    handler: Dispatcher.DispatchHandler,
    breaker: CircuitBreaker,
  ) {
    this.#path = path;
    this.#service = service;
    this.#req = req;
    this.#handler = handler;
    this.#breaker = breaker;
  }

  /** Starts the first attempt. */
  start(): void {
    this.#attempt();
  }

  #attempt(): void {
    this.#attempts++;
    this.#phase = WAITING;
    const instance = this.#path.picker.pick(this.#service, this.#tried);
    if (!instance) return this.#giveUp();
    let agent: Dispatcher;
    try {
      agent = this.#path.mtls.agentFor(this.#service);
    } catch (err) {
      // No identity material: nothing was sent.
      this.#lastError = err instanceof Error ? err : new Error(String(err));
      return this.#giveUp();
    }
    // Before dispatching: undici may report a failure to this handler at once.
    this.#instance = instance;
    this.#path.accounting.attemptStarted(instance);
    const req = this.#req;
    const timeout = req.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    agent.dispatch(
      {
        origin: originOf(instance),
        method: req.method ?? 'GET',
        path: req.path,
        headers: req.headers ?? null,
        body: req.body ?? null,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      },
      this,
    );
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    // Each attempt's controller goes to the caller, so that its cancellation stops this attempt.
    this.#handler.onRequestStart?.(controller, context);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    if (status >= 200 && this.#phase === WAITING) {
      const failed = RETRYABLE_STATUS.has(status);
      this.#path.accounting.answered(this.#instance!, failed);
      if (failed && replayableAfterAnswer(this.#req.body) && this.#mayRetry()) {
        this.#phase = DISCARDING;
        return;
      }
      this.#phase = PASSED;
      this.#breaker.record(!failed);
    }
    if (this.#phase === PASSED || status < 200)
      this.#handler.onResponseStart?.(controller, status, headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#phase === PASSED) this.#handler.onResponseData?.(controller, chunk);
  }

  onResponseEnd(
    controller: Dispatcher.DispatchController,
    trailers: Record<string, string | string[]>,
  ): void {
    this.#path.accounting.attemptEnded(this.#instance!);
    if (this.#phase === DISCARDING) return this.#retry();
    this.#phase = OVER;
    this.#handler.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, err: Error): void {
    const phase = this.#phase;
    if (phase === OVER) return;
    this.#path.accounting.attemptEnded(this.#instance!);
    // A retry was granted on the status; the answer dropped failed on the way: go on.
    if (phase === DISCARDING) return this.#retry();
    if (phase === PASSED || endedByCaller(err, this.#req.body)) {
      // After the answer began, or the caller's doing: the caller's to handle, as it came.
      if (phase === WAITING) this.#breaker.abandon();
      this.#phase = OVER;
      return this.#handler.onResponseError?.(controller, err);
    }
    this.#path.accounting.failed(this.#instance!);
    this.#lastError = err;
    if (replayableAfterFailure(this.#req.body) && this.#mayRetry()) return this.#retry();
    this.#giveUp();
  }

  /** Another attempt is allowed: by the method, the attempts left and the retry budget (asked last). */
  #mayRetry(): boolean {
    return (
      this.#attempts < this.#path.maxAttempts &&
      retryableMethod(this.#req) &&
      this.#path.accounting.tryRetry()
    );
  }

  #retry(): void {
    (this.#tried ??= new Set()).add(this.#instance!.id);
    this.#attempt();
  }

  #giveUp(): void {
    this.#phase = OVER;
    this.#breaker.record(false);
    failBeforeAnswer(this.#handler, callFailure(this.#service, this.#lastError));
  }
}

/** For a failure reported before any attempt could answer: no attempt's controller applies. */
const NO_CONTROLLER = {
  abort() {},
  pause() {},
  resume() {},
  aborted: false,
  paused: false,
  reason: null,
} as unknown as Dispatcher.DispatchController;

/** Gives the caller's handler its call's failure (a `FlotillaError`), as undici reports one. */
export function failBeforeAnswer(handler: Dispatcher.DispatchHandler, err: FlotillaError): void {
  handler.onResponseError?.(NO_CONTROLLER, err);
}
