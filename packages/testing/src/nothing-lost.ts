import { setTimeout as sleep } from 'node:timers/promises';

/** Something done to the broker (or a consumer) while the publisher sends. */
export interface NothingLostFault {
  /** Starts once this many sends have been confirmed. */
  afterConfirmed: number;
  /** The fault itself (kill and restart the broker, stop and start RabbitMQ…); sends go on meanwhile. */
  run(): Promise<void>;
}

export interface NothingLostOptions {
  /** Messages to get confirmed. */
  count: number;
  /**
   * Sends message number `seq` through the bus and resolves with its message id once the
   * broker confirmed it (the kit's `send`); a rejection means "not confirmed".
   */
  send(seq: number): Promise<string>;
  /**
   * Starts the consumer(s): the handler calls `handled(id)` with each message's id. Resolves
   * with what stops them.
   */
  consume(handled: (id: string) => void): Promise<() => Promise<void>>;
  /** Sends in flight at once (publishers working side by side); default 8. */
  concurrency?: number;
  /** What happens while the publisher sends. */
  faults?: NothingLostFault[];
  /** A rejected send is tried again (as a new message) after this; default 100 ms. */
  retryDelayMs?: number;
  /** How long to wait for every confirmed message to be handled; default 60 s. Not a speed check. */
  drainMs?: number;
  /** After the last confirmed message is handled, how long to keep counting late duplicates; default 500 ms. */
  settleMs?: number;
}

export interface NothingLostReport {
  /** Sends the broker confirmed. */
  confirmed: number;
  /** Distinct message ids handled. */
  handled: number;
  /** Confirmed but never handled: must be 0. */
  lost: number;
  /** Ids of the lost messages (the first 20), for the failure message. */
  lostIds: string[];
  /** Handlings beyond the first of a message id (at-least-once allows them). */
  duplicates: number;
  /** Sends rejected (not confirmed) and tried again. */
  refused: number;
  /** Messages handled whose send had been rejected: the broker kept them though it could not confirm. */
  handledUnconfirmed: number;
  /** A one-line summary for the test's output. */
  summary: string;
}

/**
 * The "nothing lost" workload of a bus under faults: `count` messages sent with
 * publisher confirms by `concurrency` publishers while `faults` happen. A rejected send is
 * not confirmed; the publisher tries again, as a real one would, and counts only what is
 * confirmed. At the end every confirmed message must have been handled at least once
 * (`lost === 0`); duplicates are counted, not forbidden (delivery is at-least-once).
 *
 * @example
 * const report = await nothingLost({
 *   count: 2_000,
 *   send: async (seq) => (await app.ctx.bus.send(q, Job, { seq })).id,
 *   consume: async (handled) => {
 *     const c = await worker.ctx.bus.consume(q, Job, async (_b, m) => handled(m.id));
 *     return () => c.cancel();
 *   },
 *   faults: [{ afterConfirmed: 500, run: () => restartBroker() }],
 * });
 * console.log(report.summary);
 * expect(report.lost).toBe(0);
 */
export async function nothingLost(opts: NothingLostOptions): Promise<NothingLostReport> {
  const { count, concurrency = 8, retryDelayMs = 100, drainMs = 60_000, settleMs = 500 } = opts;
  const confirmed = new Set<string>();
  const seen = new Map<string, number>();
  let refused = 0;
  const stop = await opts.consume((id) => seen.set(id, (seen.get(id) ?? 0) + 1));

  const pending = [...(opts.faults ?? [])].sort((a, b) => a.afterConfirmed - b.afterConfirmed);
  const faultsRun: Promise<void>[] = [];
  const startDueFaults = () => {
    while (pending.length > 0 && confirmed.size >= pending[0]!.afterConfirmed)
      faultsRun.push(pending.shift()!.run());
  };

  let next = 0;
  const publisher = async () => {
    for (let seq = next++; seq < count; seq = next++) {
      for (;;) {
        try {
          confirmed.add(await opts.send(seq));
          break;
        } catch {
          refused++; // not confirmed: this publisher sends it again, a new message
          await sleep(retryDelayMs);
        }
      }
      startDueFaults();
    }
  };
  startDueFaults();
  try {
    await Promise.all(Array.from({ length: concurrency }, publisher));
    // A fault still going on (a restart) ends before the drain starts counting.
    await Promise.all(faultsRun);
    const end = Date.now() + drainMs;
    while ([...confirmed].some((id) => !seen.has(id)) && Date.now() < end) await sleep(50);
    await sleep(settleMs);
  } finally {
    await stop();
  }

  const lostIds = [...confirmed].filter((id) => !seen.has(id));
  const duplicates = [...seen.values()].reduce((sum, n) => sum + n - 1, 0);
  const handledUnconfirmed = [...seen.keys()].filter((id) => !confirmed.has(id)).length;
  const report = {
    confirmed: confirmed.size,
    handled: seen.size,
    lost: lostIds.length,
    lostIds: lostIds.slice(0, 20),
    duplicates,
    refused,
    handledUnconfirmed,
  };
  return {
    ...report,
    summary:
      `${report.confirmed} confirmed, ${report.handled} handled, ${report.lost} lost, ` +
      `${report.duplicates} duplicates, ${report.refused} sends refused and retried, ` +
      `${report.handledUnconfirmed} handled though unconfirmed`,
  };
}
