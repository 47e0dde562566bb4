import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type LogEntry, parseLine } from './log-entry.js';

/** Where one log file has been read to: the end of its last complete line. */
interface Cursor {
  offset: number;
  time: number | undefined;
}

/**
 * The fleet's log folder, read incrementally: `read()` returns the lines written since the
 * last call, from every file that matches `services` — files created since (a service
 * started later, a second instance) included, a truncated file read again from its start.
 */
export class LogFolder {
  readonly #cursors = new Map<string, Cursor>();

  constructor(
    readonly dir: string,
    /** Service names to keep (`metadata` keeps `metadata` and its instances `metadata-2`…); empty keeps all. */
    private readonly services: readonly string[] = [],
  ) {}

  /** The sources (file names without `.log`) that match, sorted. */
  async sources(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names
      .filter((f) => f.endsWith('.log'))
      .map((f) => f.slice(0, -'.log'.length))
      .filter((s) => this.services.length === 0 || this.services.some((name) => matches(s, name)))
      .sort();
  }

  /**
   * Every line written since the last read, per file in order. A last line without its
   * newline is left for the next read (its process is still writing it), unless `flush`.
   */
  async read(flush = false): Promise<LogEntry[]> {
    const entries: LogEntry[] = [];
    for (const source of await this.sources()) entries.push(...(await this.#readFile(source, flush)));
    return entries;
  }

  async #readFile(source: string, flush: boolean): Promise<LogEntry[]> {
    const path = join(this.dir, `${source}.log`);
    const cursor = this.#cursors.get(source) ?? { offset: 0, time: undefined };
    this.#cursors.set(source, cursor);
    const size = await stat(path).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined) return [];
    if (size < cursor.offset) cursor.offset = 0; // truncated: from the start
    if (size === cursor.offset) return [];
    const bytes = await readRange(path, cursor.offset, size);
    // Cut at the last newline, in bytes: a character half written is never decoded.
    const end = flush ? bytes.length : bytes.lastIndexOf(0x0a) + 1;
    cursor.offset += end;
    return bytes
      .subarray(0, end)
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const entry = parseLine(source, line, cursor.time);
        cursor.time = entry.time;
        return entry;
      });
  }
}

/** `metadata` is the file of the service or of one of its instances (`metadata-2`). */
function matches(source: string, service: string): boolean {
  return source === service || new RegExp(`^${escape(service)}-\\d+$`).test(source);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function readRange(path: string, start: number, end: number): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(end - start);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}
