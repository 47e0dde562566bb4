import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatEntry, wantsColor } from './format.js';
import { byTime, parseLine } from './log-entry.js';
import { LogFolder } from './log-files.js';
import { sinceTime, tailCount } from './since.js';

const pino = (time: string, level: number, msg: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ level, time, service: 'x', pid: 1, ...extra, msg });

describe('a log line for a person', () => {
  const plain = { color: false, width: 8 };

  it('names the level, the process and the message, and the other fields as key=value', () => {
    const entry = parseLine(
      'metadata',
      pino('2026-01-02T03:04:05.678Z', 40, 'slow', { ms: 912, url: '/a b' }),
      undefined,
    );
    expect(formatEntry(entry, plain)).toMatch(
      /^\d\d:\d\d:05\.678 WARN {2}metadata \| slow {2}ms=912 url="\/a b"$/,
    );
  });

  it('puts an error message in the line and its stack under it', () => {
    const err = { type: 'Error', message: 'it broke', stack: 'Error: it broke\n    at f (a.ts:1:2)' };
    const entry = parseLine('auth', pino('2026-01-02T03:04:05.000Z', 50, 'failed', { err }), undefined);
    expect(formatEntry(entry, plain).split('\n')).toEqual([
      expect.stringMatching(/ ERROR auth {5}\| failed {2}err="it broke"$/),
      '    at f (a.ts:1:2)',
    ]);
  });

  it('keeps a plain-text line as it is, at the time of the line before it', () => {
    const before = parseLine('gateway', pino('2026-01-02T03:04:05.000Z', 30, 'up'), undefined);
    const text = parseLine('gateway', '(node:1) Warning: something', before.time);
    expect(text.time).toBe(before.time);
    expect(formatEntry(text, plain)).toMatch(/gateway {2}\| \(node:1\) Warning: something$/);
  });

  it('colours only on a terminal, and never with NO_COLOR', () => {
    const tty = { isTTY: true } as NodeJS.WriteStream;
    expect(wantsColor(tty, {})).toBe(true);
    expect(wantsColor(tty, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColor({ isTTY: false } as NodeJS.WriteStream, {})).toBe(false);
    const entry = parseLine('auth', pino('2026-01-02T03:04:05.000Z', 50, 'x'), undefined);
    expect(formatEntry(entry, { color: true, width: 4 })).toContain('\u001b[31mERROR');
  });

  it('merges files by time, keeping each file in order', () => {
    const a = parseLine('a', pino('2026-01-02T03:04:05.000Z', 30, 'a1'), undefined);
    const b = parseLine('b', pino('2026-01-02T03:04:04.000Z', 30, 'b1'), undefined);
    expect(byTime([a, b]).map((e) => e.source)).toEqual(['b', 'a']);
  });
});

describe('--since and --tail', () => {
  it('read a duration back from now, or a time', () => {
    const now = Date.parse('2026-01-02T03:00:00Z');
    expect(sinceTime('10m', now)).toBe(now - 600_000);
    expect(sinceTime('2h', now)).toBe(now - 7_200_000);
    expect(sinceTime('2026-01-01T00:00:00Z', now)).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(() => sinceTime('yesterday', now)).toThrow(expect.objectContaining({ code: 'FLT_USAGE' }));
    expect(tailCount('20')).toBe(20);
    expect(() => tailCount('-1')).toThrow(expect.objectContaining({ code: 'FLT_USAGE' }));
  });
});

describe('the fleet log folder, read as it grows', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-logs-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads new lines, a line only once it ends, and files created after the first read', async () => {
    await writeFile(join(dir, 'metadata.log'), 'one\ntw');
    const folder = new LogFolder(dir);
    expect((await folder.read()).map((e) => e.raw)).toEqual(['one']);
    await appendFile(join(dir, 'metadata.log'), 'o\n');
    await writeFile(join(dir, 'history.log'), 'started later\n');
    expect((await folder.read()).map((e) => `${e.source}: ${e.raw}`)).toEqual([
      'history: started later',
      'metadata: two',
    ]);
    expect(await folder.read()).toEqual([]);
  });

  it('keeps only the services asked for, with their instances', async () => {
    for (const f of ['metadata.log', 'metadata-2.log', 'metadata-cache.log', 'auth.log'])
      await writeFile(join(dir, f), 'x\n');
    expect(await new LogFolder(dir, ['metadata']).sources()).toEqual(['metadata', 'metadata-2']);
  });

  it('reads a truncated file again from its start', async () => {
    const file = join(dir, 'auth.log');
    await writeFile(file, 'a long first line\n');
    const folder = new LogFolder(dir);
    await folder.read();
    await writeFile(file, 'new\n');
    expect((await folder.read()).map((e) => e.raw)).toEqual(['new']);
  });
});
