/** One line of a fleet log file, parsed once. */
export interface LogEntry {
  /** The process it came from: the log file's name (`metadata`, `metadata-2`, `control`). */
  source: string;
  /** Epoch ms: the line's own `time`, or (a plain-text line) that of the line before it. */
  time: number | undefined;
  /** The pino record, when the line is one. */
  record: Record<string, unknown> | undefined;
  raw: string;
}

/** Parses a line; a line that is not a JSON object (a warning on stderr, a stack) stays plain text. */
export function parseLine(source: string, raw: string, previousTime: number | undefined): LogEntry {
  let record: Record<string, unknown> | undefined;
  if (raw.startsWith('{')) {
    try {
      const value: unknown = JSON.parse(raw);
      if (value && typeof value === 'object' && !Array.isArray(value))
        record = value as Record<string, unknown>;
    } catch {
      // plain text that happens to start with a brace
    }
  }
  return { source, time: timeOf(record) ?? previousTime, record, raw };
}

function timeOf(record: Record<string, unknown> | undefined): number | undefined {
  const t = record?.time;
  if (typeof t === 'number') return t;
  if (typeof t === 'string') {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/** Entries of several files in time order; entries of one file keep their order. */
export function byTime(entries: LogEntry[]): LogEntry[] {
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => (a.e.time ?? 0) - (b.e.time ?? 0) || a.i - b.i)
    .map(({ e }) => e);
}
