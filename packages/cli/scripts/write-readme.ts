// Rewrites the command reference of packages/cli/README.md from the command table:
// npx tsx packages/cli/scripts/write-readme.ts (then npx prettier --write packages/cli/README.md).
import { readFile, writeFile } from 'node:fs/promises';
import { commandReference } from '../src/cli/reference.js';
import { COMMANDS } from '../src/commands/table.js';

const README = new URL('../README.md', import.meta.url);
const BEGIN = '<!-- commands: generated from src/commands/table.ts -->';
const END = '<!-- end of commands -->';

const text = await readFile(README, 'utf8');
const start = text.indexOf(BEGIN);
const end = text.indexOf(END);
if (start < 0 || end < start) throw new Error(`README.md has no ${BEGIN} … ${END} section`);
await writeFile(
  README,
  `${text.slice(0, start + BEGIN.length)}\n\n${commandReference(COMMANDS)}\n${text.slice(end)}`,
);
