import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** `flotilla logs [--follow]`: every service's log lines, prefixed with its name. */
export async function run(argv: string[]): Promise<number> {
  const dir = join(resolve(process.env.FLOTILLA_HOME ?? '.flotilla'), 'logs');
  const files = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.log')).sort();
  if (files.length === 0) {
    console.error(`flotilla: no logs in ${dir}: start the fleet with "flotilla up"`);
    return 1;
  }
  const width = Math.max(...files.map((f) => f.length - 4));
  const offsets = new Map<string, number>();
  const print = async (file: string) => {
    const path = join(dir, file);
    const start = offsets.get(file) ?? 0;
    const size = (await stat(path)).size;
    if (size <= start) return;
    offsets.set(file, size);
    const lines = createInterface({ input: createReadStream(path, { start, end: size - 1 }) });
    for await (const line of lines) process.stdout.write(`${file.slice(0, -4).padEnd(width)} | ${line}\n`);
  };
  for (const f of files) await print(f);
  if (!argv.includes('--follow') && !argv.includes('-f')) return 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    for (const f of files) await print(f);
  }
}
