import { FlotillaError } from '../errors/index.js';
import type { ServiceContext } from '../service/context.js';
import type { Consumer } from './transport.js';

export interface KeepConsumingOptions {
  /** The first wait after a failed start; doubles up to `maxDelayMs`, each wait jittered. Default 250 ms. */
  initialDelayMs?: number;
  /** Default 15 s: a broker that comes back is used within that. */
  maxDelayMs?: number;
}

/** How a consumer kept by `keepConsuming` is doing, for tests and operators. */
export interface KeptConsumer {
  /** The consumer once started; undefined while starting, after a denial, or after stop. */
  readonly consumer: Consumer | undefined;
  /** Resolves with the consumer once it consumes, or undefined when it never will (denied, stopped). */
  readonly started: Promise<Consumer | undefined>;
  /** Stops retrying and cancels the consumer; also run at the service's shutdown. */
  stop(): Promise<void>;
}

type Ctx = Pick<ServiceContext, 'addCheck' | 'onClose' | 'log'>;

/**
 * Starts a consumer or subscription (`start`, e.g. `() => ctx.bus.subscribe('viewed', …)`)
 * without making the broker a start-up dependency: when the broker cannot be reached yet
 * (a fleet starts its processes together) it tries again in the background with jittered
 * exponential back-off, and the readiness check `bus:<name>` fails until it consumes, so
 * the fleet does not route to a service that would lose its work. A refusal by the
 * fleet's policies (FLT_POLICY_DENIED) is not retried: trying again cannot change it, so
 * it is logged once, clearly, and readiness stays failing.
 *
 * @example
 * keepConsuming(ctx, 'viewed', () => ctx.bus.subscribe('viewed', Viewed, record));
 */
export function keepConsuming(
  ctx: Ctx,
  name: string,
  start: () => Promise<Consumer>,
  options: KeepConsumingOptions = {},
): KeptConsumer {
  const initial = options.initialDelayMs ?? 250;
  const max = options.maxDelayMs ?? 15_000;
  let consumer: Consumer | undefined;
  let problem = 'starting';
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;

  ctx.addCheck(`bus:${name}`, () => {
    if (!consumer) throw new Error(`not consuming ${name}: ${problem}`);
  });

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });

  const run = async (): Promise<Consumer | undefined> => {
    for (let attempt = 0; !stopped; attempt++) {
      try {
        const started = await start();
        if (stopped) {
          await started.cancel();
          return undefined;
        }
        consumer = started;
        if (attempt > 0) ctx.log.info({ bus: name, attempts: attempt + 1 }, 'bus consumer started');
        return started;
      } catch (err) {
        problem = err instanceof Error ? err.message : String(err);
        if (err instanceof FlotillaError && err.code === 'FLT_POLICY_DENIED') {
          ctx.log.error(
            { bus: name, err },
            `the fleet's policies refuse ${name} to this service; not retrying (grant it in the policies, then restart)`,
          );
          return undefined;
        }
        // Full jitter: instances that lost the broker together do not come back in step.
        const delay = Math.random() * Math.min(max, initial * 2 ** Math.min(attempt, 30));
        ctx.log.warn(
          { bus: name, err, retryInMs: Math.round(delay) },
          'bus consumer could not start; will retry',
        );
        await wait(delay);
      }
    }
    return undefined;
  };

  const started = run();
  const stop = async () => {
    stopped = true;
    clearTimeout(timer);
    wake?.();
    await started;
    const c = consumer;
    consumer = undefined;
    problem = 'stopped';
    await c?.cancel();
  };
  ctx.onClose(stop);
  return {
    get consumer() {
      return consumer;
    },
    started,
    stop,
  };
}
