import {
  type AdminDeadLetter,
  type AdminQueue,
  type AdminSource,
  BROKER_ROUTES,
  type ReplayResult,
} from './schemas.js';
import { answer, type BrokerTransport } from './client.js';

/**
 * The embedded broker's administration (`/v1/admin/*`), for the operator's tools
 * (`flotilla bus`): queue depths, dead letters, replays. The broker decides each call
 * with `bus:Inspect` / `bus:Replay` on the queue or topic and audits it with the caller's
 * identity; a refusal is the `FlotillaError` it answered with (404 `FLT_NOT_FOUND` for an
 * unknown dead letter).
 *
 * @example
 * const admin = new BrokerAdminClient((r) => mtls.request('broker', url, r));
 * for (const d of await admin.deadLetters({ queue: 'viewed' })) await admin.replay(d.id);
 */
export class BrokerAdminClient {
  constructor(
    private readonly transport: BrokerTransport,
    private readonly timeoutMs = 10_000,
  ) {}

  async queues(): Promise<AdminQueue[]> {
    return ((await this.#json('GET', BROKER_ROUTES.adminQueues.path)) as { queues: AdminQueue[] }).queues;
  }

  /** Dead letters of a source (every source when undefined), oldest first. */
  async deadLetters(source?: AdminSource, limit = 100): Promise<AdminDeadLetter[]> {
    const q = new URLSearchParams({ ...(source ?? {}), limit: String(limit) });
    const res = (await this.#json('GET', `${BROKER_ROUTES.adminDeadLetters.path}?${q.toString()}`)) as {
      deadLetters: AdminDeadLetter[];
    };
    return res.deadLetters;
  }

  /** Moves one dead letter back to its queue. */
  replay(id: string): Promise<ReplayResult> {
    return this.#json('POST', BROKER_ROUTES.adminReplays.path, { id }) as Promise<ReplayResult>;
  }

  /** Moves every dead letter of `source` back to it. */
  replayAll(source: AdminSource): Promise<ReplayResult> {
    return this.#json('POST', BROKER_ROUTES.adminReplays.path, {
      all: true,
      source,
    }) as Promise<ReplayResult>;
  }

  async #json(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return answer(
      await this.transport({
        method,
        path,
        headers,
        timeoutMs: this.timeoutMs,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      }),
    );
  }
}
