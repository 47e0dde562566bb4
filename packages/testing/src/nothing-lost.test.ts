// The workload itself: it must see a message that was confirmed but never handled, and
// count duplicates and refused sends, or the fault tests that rely on it prove nothing.
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { nothingLost } from './nothing-lost.js';

/** A broker in memory that can drop, duplicate or refuse. */
function fakeBus(misbehave: (seq: number, attempt: number) => 'drop' | 'twice' | 'refuse' | 'ok') {
  let deliver: (id: string) => void = () => {};
  const attempts = new Map<number, number>();
  return {
    async send(seq: number): Promise<string> {
      const attempt = (attempts.get(seq) ?? 0) + 1;
      attempts.set(seq, attempt);
      const id = randomUUID();
      const what = misbehave(seq, attempt);
      if (what === 'refuse') {
        setTimeout(() => deliver(id), 1); // refused, yet kept: handled though unconfirmed
        throw new Error('refused');
      }
      if (what !== 'drop') setTimeout(() => deliver(id), 1);
      if (what === 'twice') setTimeout(() => deliver(id), 2);
      return id;
    },
    async consume(handled: (id: string) => void) {
      deliver = handled;
      return async () => {
        deliver = () => {};
      };
    },
  };
}

it('reports a confirmed message that was never handled as lost', async () => {
  const bus = fakeBus((seq) => (seq === 7 ? 'drop' : 'ok'));
  const report = await nothingLost({ count: 50, ...bus, drainMs: 300, settleMs: 10 });
  expect(report).toMatchObject({ confirmed: 50, handled: 49, lost: 1, duplicates: 0 });
  expect(report.lostIds).toHaveLength(1);
});

it('counts duplicates and retries refused sends until they are confirmed', async () => {
  const bus = fakeBus((seq, attempt) =>
    seq % 10 === 0 && attempt === 1 ? 'refuse' : seq === 3 ? 'twice' : 'ok',
  );
  let faultRan = false;
  const report = await nothingLost({
    count: 40,
    ...bus,
    retryDelayMs: 1,
    settleMs: 20,
    faults: [{ afterConfirmed: 20, run: async () => void (faultRan = true) }],
  });
  expect(report).toMatchObject({
    confirmed: 40,
    lost: 0,
    duplicates: 1,
    refused: 4,
    handledUnconfirmed: 4,
    handled: 44,
  });
  expect(faultRan).toBe(true);
});
