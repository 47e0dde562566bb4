import { describe, expect, it } from 'vitest';
import { formatTraceparent, parseTraceparent, startTrace } from './trace.js';

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
