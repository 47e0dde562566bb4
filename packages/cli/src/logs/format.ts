import { styleText } from 'node:util';
import type { LogEntry } from './log-entry.js';

/** pino's numeric levels (pino/lib/constants.js), by name. */
const LEVELS: Record<number, { name: string; style: Parameters<typeof styleText>[0] }> = {
  10: { name: 'TRACE', style: 'gray' },
  20: { name: 'DEBUG', style: 'gray' },
  30: { name: 'INFO', style: 'green' },
  40: { name: 'WARN', style: 'yellow' },
  50: { name: 'ERROR', style: 'red' },
  60: { name: 'FATAL', style: ['red', 'bold'] },
};

/** What every record carries, shown in the line's own columns rather than as fields. */
const SHOWN = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname', 'v']);

export interface FormatOptions {
  /** ANSI colours: on a terminal, unless NO_COLOR is set (https://no-color.org). */
  color: boolean;
  /** Width of the source column, so that messages line up. */
  width: number;
}

/** Whether stdout gets colours: a TTY, and NO_COLOR unset or empty. */
export function wantsColor(stream: NodeJS.WriteStream = process.stdout, env = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}

/**
 * A log entry for a person: local time, level name, the process, the message, the other
 * fields as `key=value`, and an error's stack on the lines after.
 *
 * @example
 * formatEntry(entry, { color: false, width: 8 }); // "01:11:41.460 WARN  metadata | registry watch lost  err=…"
 */
export function formatEntry(entry: LogEntry, opts: FormatOptions): string {
  const paint = (style: Parameters<typeof styleText>[0], text: string) =>
    opts.color ? styleText(style, text, { validateStream: false }) : text;
  const source = paint('cyan', entry.source.padEnd(opts.width));
  const time = paint('dim', entry.time === undefined ? ' '.repeat(12) : clock(entry.time));
  const record = entry.record;
  if (!record) return `${time} ${' '.repeat(5)} ${source} | ${entry.raw}`;
  const level = LEVELS[Number(record.level)] ?? { name: quote(record.level ?? '-'), style: 'white' as const };
  const fields: string[] = [];
  const stacks: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (SHOWN.has(key)) continue;
    const error = errorOf(value);
    if (error) {
      fields.push(`${key}=${quote(error.message)}`);
      if (error.stack)
        stacks.push(
          ...error.stack
            .split('\n')
            .slice(1)
            .map((l) => `    ${l.trim()}`),
        );
    } else fields.push(`${key}=${quote(value)}`);
  }
  const msg = typeof record.msg === 'string' ? record.msg : '';
  const line = `${time} ${paint(level.style, level.name.padEnd(5))} ${source} | ${msg}${fields.length ? `  ${paint('dim', fields.join(' '))}` : ''}`;
  return [line, ...stacks.map((l) => paint('dim', l))].join('\n');
}

function clock(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function errorOf(value: unknown): { message: string; stack?: string } | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const { message, stack } = value as { message?: unknown; stack?: unknown };
  if (typeof message !== 'string') return undefined;
  return typeof stack === 'string' ? { message, stack } : { message };
}

/** A field's value: a string as is (quoted if it would not read as one token), anything else as JSON. */
function quote(value: unknown): string {
  if (typeof value !== 'string') return JSON.stringify(value) ?? String(value);
  return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
}
