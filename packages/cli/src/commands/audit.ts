import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyAuditFile } from '@flotilla/kit';
import { printError } from '../output.js';

const USAGE = 'usage: flotilla audit verify [FILE|DIR]   (default: .flotilla/audit)';

/** `flotilla audit verify`: checks the hash chain of every audit trail. */
export async function run(argv: string[]): Promise<number> {
  const [sub, target = join('.flotilla', 'audit')] = argv;
  if (sub !== 'verify') {
    console.log(USAGE);
    return sub === '--help' ? 0 : 2;
  }
  const files = await auditFiles(target);
  if (files.length === 0) {
    printError(`no audit trail found at ${target}`);
    return 1;
  }
  let failed = 0;
  for (const file of files) {
    const result = await verifyAuditFile(file);
    if (result.ok) console.log(`ok      ${file}: ${result.records} records, chain intact`);
    else {
      failed += 1;
      console.log(`BROKEN  ${file}:${result.line}: ${result.reason}`);
    }
  }
  return failed ? 1 : 0;
}

async function auditFiles(target: string): Promise<string[]> {
  const info = await stat(target).catch(() => undefined);
  if (!info) return [];
  if (info.isFile()) return [target];
  return (await readdir(target))
    .filter((n) => n.endsWith('.jsonl'))
    .sort()
    .map((n) => join(target, n));
}
