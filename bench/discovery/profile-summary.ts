/**
 * Summarises a V8 .cpuprofile (from BENCH_CPU_PROF in registry-load.ts, or `node --cpu-prof`):
 * the busy share of the top functions by self time, and by inclusive time (a function and
 * everything it calls, counted once per sample even when recursive).
 * Run: npx tsx bench/discovery/profile-summary.ts <file.cpuprofile> [top=25]
 * Shares are of the thread's busy samples (everything but `(idle)`), as in the README.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
const top = Number(topArg ?? 25);
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const label = (n: ProfileNode) => {
  const { functionName, url, lineNumber } = n.callFrame;
  const where = url
    ? `${url.replace(/^.*\/node_modules\//, '~/').replace(/^file:\/\/.*\/work\/main\//, '')}:${lineNumber + 1}`
    : '';
  return `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
};

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let busy = 0;
for (const id of profile.samples) {
  const node = byId.get(id);
  if (!node || node.callFrame.functionName === '(idle)') continue;
  busy += 1;
  self.set(label(node), (self.get(label(node)) ?? 0) + 1);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + 1);
  }
}

const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [l, n] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${((n / busy) * 100).toFixed(1).padStart(6)}%  ${l}`);
};
const idle = profile.samples.length - busy;
console.log(
  `${profile.samples.length} samples, ${busy} busy (${((busy / profile.samples.length) * 100).toFixed(1)}%), ${idle} idle`,
);
print('self time (share of busy samples)', self);
print('inclusive time (share of busy samples)', inclusive);
