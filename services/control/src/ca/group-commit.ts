import { FlotillaError } from '@flotilla/kit';

/**
 * Group commit: work submitted in the same turn of the event loop, or while a flush is
 * running, goes into one flush together, so N concurrent requests cost one transaction
 * (one fsync) instead of N. A flush starts at the end of the current turn (setImmediate,
 * after the poll phase has read every socket that was ready), never on a timer, so a lone
 * request waits for nothing. (An embedded database such as PGlite answers synchronously,
 * so without that turn boundary nothing would ever queue behind a flush.) Every caller's promise
 * settles only after the flush that carried its item has finished (for a database write:
 * after it is committed, hence durable), and batches run one after another, in the order
 * their items were submitted.
 *
 * `flush` returns one result per item, in order; a thrown error rejects every item of
 * that batch (and only that batch).
 *
 * @example
 * const inserts = new GroupCommit((rows: Row[]) => insertAllInOneTransaction(rows));
 * await inserts.submit(row); // resolved once the transaction holding `row` committed
 */
export class GroupCommit<I, O> {
  #queue: Array<{ item: I; resolve: (out: O) => void; reject: (err: unknown) => void }> = [];
  #running = false;

  constructor(
    private readonly flush: (items: I[]) => Promise<O[]>,
    private readonly maxBatch = 256,
  ) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1)
      throw new RangeError('maxBatch must be a positive integer');
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#running) {
        this.#running = true;
        setImmediate(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.maxBatch);
        try {
          const results = await this.flush(batch.map((b) => b.item));
          if (results.length !== batch.length) {
            throw new FlotillaError(
              'FLT_INTERNAL',
              `group commit: ${results.length} results for ${batch.length} items`,
            );
          }
          batch.forEach((b, i) => b.resolve(results[i] as O));
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.#running = false;
    }
  }
}
