import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Args, bool, type Handler, list, output, str } from '../cli/spec.js';
import { fleetHome } from '../home.js';
import { formatEntry, wantsColor } from '../logs/format.js';
import { byTime, type LogEntry } from '../logs/log-entry.js';
import { LogFolder } from '../logs/log-files.js';
import { sinceTime, tailCount } from '../logs/since.js';
import { printError } from '../output.js';

const FOLLOW_INTERVAL_MS = 500;

/**
 * `flotilla logs [-f] [--service NAME]… [--since 10m] [--tail N] [-o text|json]`: the
 * fleet's log lines, merged by time, for a person (level names, colours on a terminal) or
 * as the JSON lines they are. `-f` keeps reading, from log files created after it started
 * too (a service started later, a second instance).
 */
export const logs: Handler = async (args) => {
  const since = str(args, 'since');
  const after = since === undefined ? undefined : sinceTime(since, Date.now());
  const tail = str(args, 'tail');
  const lastN = tail === undefined ? undefined : tailCount(tail);
  const folder = new LogFolder(join(fleetHome(args), 'logs'), list(args, 'service'));
  const sources = await folder.sources();
  if (sources.length === 0 && !bool(args, 'follow')) {
    const which = list(args, 'service');
    printError(
      `no logs in ${folder.dir}${which.length ? ` for ${which.join(', ')}` : ''}: start the fleet with "flotilla up"`,
    );
    return 1;
  }
  const keep = (entries: LogEntry[]) =>
    after === undefined ? entries : entries.filter((e) => e.time !== undefined && e.time >= after);
  const print = printer(args, sources);

  let first = byTime(keep(await folder.read(!bool(args, 'follow'))));
  if (lastN !== undefined) first = first.slice(Math.max(0, first.length - lastN));
  first.forEach(print);
  if (!bool(args, 'follow')) return 0;
  for (;;) {
    await sleep(FOLLOW_INTERVAL_MS);
    byTime(keep(await folder.read())).forEach(print);
  }
};

function printer(args: Args, sources: string[]): (entry: LogEntry) => void {
  if (output(args, 'text') === 'json') {
    return (e) =>
      process.stdout.write(`${e.record ? e.raw : JSON.stringify({ service: e.source, msg: e.raw })}\n`);
  }
  // Wide enough for the sources there are now; a later, longer one just pushes its line.
  const opts = { color: wantsColor(), width: Math.max(8, ...sources.map((s) => s.length)) };
  return (e) => process.stdout.write(`${formatEntry(e, opts)}\n`);
}
