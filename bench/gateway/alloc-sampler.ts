// Allocation sampling for the gateway under the benchmark, as a preload:
//
//   GATEWAY_NODE_ARGS="--import tsx --import /abs/path/bench/gateway/alloc-sampler.ts" \
//   ALLOC_PROFILE_DIR=/tmp/alloc npx tsx bench/gateway/run.ts --workers 1 --rate 3000 --rounds 1
//
// V8's sampling heap profiler, keeping samples of objects that minor and major GCs have
// already collected (what drives scavenges is what is allocated, not what survives). On
// SIGTERM (the benchmark stops the gateway that way) it writes `<pid>.heapprofile` to
// ALLOC_PROFILE_DIR (Chrome DevTools opens it) and prints on stderr the bytes sampled per
// function (self) and per request served: the top 40, then the gateway's own functions.
// Sampling interval: ALLOC_SAMPLE_BYTES (default 16 KiB). It starts at the first request
// (start-up left out).
import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

const dir = process.env.ALLOC_PROFILE_DIR ?? tmpdir();
// Requests this process served (HTTP and HTTPS servers alike), for bytes per request.
let requests = 0;
subscribe('http.server.request.start', () => {
  // Sampling starts with the first request: start-up (module compilation) is left out.
  if (requests++ === 0)
    session.post('HeapProfiler.startSampling', {
      samplingInterval: Number(process.env.ALLOC_SAMPLE_BYTES ?? 16 * 1024),
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
});
const session = new Session();
session.connect();
session.post('HeapProfiler.enable');

let done = false;
process.prependListener('SIGTERM', () => {
  if (done || requests === 0) return;
  done = true;
  // An in-process session answers within this call: the profile is written before the
  // gateway's own SIGTERM handler starts shutting down.
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (err) return void process.stderr.write(`alloc-sampler: ${err.message}\n`);
    const profile = result.profile as { head: SamplingNode };
    const file = join(dir, `${process.pid}.heapprofile`);
    writeFileSync(file, JSON.stringify(profile));
    process.stderr.write(summary(profile.head, file));
  });
});

function summary(head: SamplingNode, file: string): string {
  const byFunction = new Map<string, number>();
  let total = 0;
  const walk = (node: SamplingNode) => {
    const f = node.callFrame;
    total += node.selfSize;
    if (node.selfSize > 0) {
      const key = `${f.functionName || '(anonymous)'} ${shorten(f.url)}:${f.lineNumber + 1}:${f.columnNumber + 1}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child);
  };
  walk(head);
  const rows = [...byFunction].sort((a, b) => b[1] - a[1]);
  const per = Math.max(1, requests);
  const pct = (n: number) =>
    `${((100 * n) / total).toFixed(1).padStart(5)} % ${(n / per).toFixed(0).padStart(6)} B/req`;
  const lines = [
    `alloc-sampler: ${(total / 1e6).toFixed(1)} MB sampled over ${requests} requests (${(total / per).toFixed(0)} B/request), profile in ${file}`,
  ];
  for (const [k, v] of rows.slice(0, 40)) lines.push(`  ${pct(v)}  ${k}`);
  lines.push('  gateway code:');
  for (const [k, v] of rows) if (k.includes('services/gateway/')) lines.push(`  ${pct(v)}  ${k}`);
  return `${lines.join('\n')}\n`;
}

function shorten(url: string): string {
  for (const marker of ['/node_modules/', '/services/', '/packages/']) {
    const i = url.lastIndexOf(marker);
    if (i !== -1) return url.slice(marker === '/node_modules/' ? i + marker.length : i + 1);
  }
  return url;
}
