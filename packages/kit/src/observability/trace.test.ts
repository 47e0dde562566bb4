import { describe, expect, it } from 'vitest';
import {
  currentTrace,
  formatTraceparent,
  parseTraceparent,
  randomRequestId,
  runWithTrace,
  startTrace,
} from './trace.js';

describe('startTrace', () => {
  it('starts valid, distinct traces across many refills of the id pool', () => {
    const traces = new Set<string>();
    const spans = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const t = startTrace(undefined);
      expect(t.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(t.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(parseTraceparent(formatTraceparent(t))).toEqual({
        traceId: t.traceId,
        parentId: t.spanId,
        flags: '01',
      });
      traces.add(t.traceId);
      spans.add(t.spanId);
    }
    // 2,000 traces × 24 bytes is eleven 4 KiB pools: no id may repeat across a refill.
    expect(traces.size).toBe(2_000);
    expect(spans.size).toBe(2_000);
  });

  it("continues a caller's trace with a new span of its own", () => {
    const header = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const t = startTrace(header);
    expect(t).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentId: '00f067aa0ba902b7' });
    expect(t.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(t.spanId).not.toBe('00f067aa0ba902b7');
    expect(startTrace('00-00000000000000000000000000000000-00f067aa0ba902b7-01').parentId).toBeUndefined();
  });
});

describe('randomRequestId', () => {
  it('gives distinct version 4 UUIDs across many refills of the id pool', () => {
    const ids = new Set<string>();
    // 3,000 ids × 16 bytes and traces between them: many 4 KiB pools.
    for (let i = 0; i < 3_000; i++) {
      const id = randomRequestId();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      ids.add(id);
      if (i % 3 === 0) startTrace(undefined);
    }
    expect(ids.size).toBe(3_000);
  });

  it('returns strings that do not change when the next id is made', () => {
    const first = randomRequestId();
    const copy = `${first}`;
    randomRequestId();
    expect(first).toBe(copy);
  });

  it('uses every random bit but the version and variant', () => {
    // Each of the 122 random bit positions is seen both set and clear over 200 ids.
    const seenSet = new Array<boolean>(128).fill(false);
    const seenClear = new Array<boolean>(128).fill(false);
    for (let i = 0; i < 200; i++) {
      const bytes = Buffer.from(randomRequestId().replaceAll('-', ''), 'hex');
      for (let bit = 0; bit < 128; bit++) {
        if ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) seenSet[bit] = true;
        else seenClear[bit] = true;
      }
    }
    const fixed = new Set([48, 49, 50, 51, 64, 65]);
    for (let bit = 0; bit < 128; bit++) {
      if (fixed.has(bit)) expect(seenSet[bit] && seenClear[bit]).toBe(false);
      else expect(seenSet[bit] && seenClear[bit]).toBe(true);
    }
  });

  it('keeps the request id with the trace it starts', () => {
    const id = randomRequestId();
    expect(startTrace(undefined, id).requestId).toBe(id);
    expect(startTrace('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', id)).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentId: '00f067aa0ba902b7',
      flags: '01',
      requestId: id,
    });
  });
});

describe('runWithTrace', () => {
  it('passes its arguments through, with the trace current inside and the previous one after', async () => {
    const outer = startTrace(undefined, 'outer');
    const inner = startTrace(undefined, 'inner');
    const seen = runWithTrace(outer, () => {
      const got = runWithTrace(
        inner,
        (a: number, b: string) => `${currentTrace()?.requestId}:${a}:${b}`,
        7,
        'x',
      );
      return [got, currentTrace()?.requestId];
    });
    expect(seen).toEqual(['inner:7:x', 'outer']);
    expect(currentTrace()).toBeUndefined();
    // Kept across an await inside.
    const later = await runWithTrace(inner, async () => {
      await new Promise((r) => setTimeout(r, 1));
      return currentTrace()?.requestId;
    });
    expect(later).toBe('inner');
  });
});
