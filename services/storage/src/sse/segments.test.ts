import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeHeader, SEGMENT_SIZE } from './format.js';
import { openRange, planRange, sealStream } from './segments.js';

const binding = { bucket: 'b', key: 'k', blobId: 'v' };

/** Splits bytes into chunks of the given sizes, cycling. */
function* chunked(bytes: Buffer, sizes: number[]): Generator<Buffer> {
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length] ?? 1;
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

async function all(gen: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of gen) parts.push(p);
  return Buffer.concat(parts);
}

describe('segments', () => {
  const sizes = [
    0,
    1,
    SEGMENT_SIZE - 1,
    SEGMENT_SIZE,
    SEGMENT_SIZE + 1,
    2 * SEGMENT_SIZE,
    3 * SEGMENT_SIZE + 17,
  ];
  it.each(sizes)('seals and opens %i bytes however the bytes are chunked', async (size) => {
    const key = randomBytes(32);
    const plain = randomBytes(size);
    for (const split of [[size || 1], [1, 7, 4096], [SEGMENT_SIZE + 3], [100_000]]) {
      const summary = {};
      const blob = await all(sealStream(chunked(plain, split), { key, sealedKey: 's', binding }, summary));
      expect(summary).toMatchObject({ size });
      const header = decodeHeader(blob);
      const headerLen = blob.length - size - Math.max(1, Math.ceil(size / SEGMENT_SIZE)) * 16;
      const ranges: Array<[number, number]> =
        size === 0
          ? [[0, 0]]
          : [
              [0, size - 1],
              [Math.floor(size / 2), size - 1],
              [size - 1, size - 1],
            ];
      for (const [start, end] of ranges) {
        const plan = planRange(size, headerLen, start, end);
        for (const readSplit of [[plan.blobEnd - plan.blobStart || 1], [13, 65_552, 9]]) {
          const source = chunked(blob.subarray(plan.blobStart, plan.blobEnd), readSplit);
          const out = await all(
            openRange(
              (async function* () {
                yield* source;
              })(),
              key,
              header,
              binding,
              plan,
            ),
          );
          expect(out.equals(plain.subarray(start, size === 0 ? 0 : end + 1))).toBe(true);
        }
      }
    }
  });
});
