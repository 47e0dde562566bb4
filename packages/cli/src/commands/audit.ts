import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyAuditFile } from '@flotilla/kit';
import type { Handler } from '../cli/spec.js';
import { fleetHome } from '../home.js';
import { printError } from '../output.js';

/** `flotilla audit verify [FILE|DIR]`: checks the hash chain of every audit trail (default `<home>/audit`). */
export const verify: Handler = async (args) => {
  const target = args.positionals[0] ?? join(fleetHome(args), 'audit');
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
};

async function auditFiles(target: string): Promise<string[]> {
  const info = await stat(target).catch(() => undefined);
  if (!info) return [];
  if (info.isFile()) return [target];
  return (await readdir(target))
    .filter((n) => n.endsWith('.jsonl'))
    .sort()
    .map((n) => join(target, n));
}
