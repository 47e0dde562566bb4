/**
 * Fleet start time and idle memory (issue 8). Run: npx tsx bench/fleet/start.ts
 * (BENCH_FLEET to use another fleet file, BENCH_SETTLE_MS to change the idle wait,
 * BENCH_RUNS for more warm starts; about a minute with the defaults).
 *
 * Runs `flotilla up` (bin/flotilla.js, as `npm start` does, without the web build of
 * `prestart`) in temporary folders:
 *
 *   first  a fresh home and an empty user cache (XDG_CACHE_HOME): the one initdb of the
 *          PGlite template runs, then secrets, CA and every service's database are made;
 *   cold   another fresh home, the template and the services' builds now cached (as
 *          `npm install` leaves them): what a new checkout's first `npm start` costs;
 *   warm   the cold run's home again: everything is reused.
 *
 * For each start it prints the time `flotilla up` itself reports ("is up in X s") and the
 * wall time from spawn to that line, then waits for the fleet to settle and reads every
 * process's resident memory (VmRSS from /proc, as `flotilla status` reports it): the
 * supervisor (the `flotilla up` process, which hosts the control plane) and each service.
 * The targets are printed beside the figures; nothing is asserted.
 *
 * Uses the fleet file's ports (FlixTube: 7400, 7410, 8443, 8080): they must be free.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { processMemory as memory } from '@flotilla/cli';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FLEET = process.env.BENCH_FLEET ?? join(ROOT, 'flotilla.yaml');
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 15_000);
const WARM_RUNS = Number(process.env.BENCH_RUNS ?? 1);
const TARGET_START_S = 10;
const TARGET_RSS_MB = 80;

interface StartResult {
  label: string;
  reportedS: number;
  wallS: number;
  lines: string[];
  memory: Array<{ name: string; pid: number } & Memory>;
}

interface Memory {
  rssMB: number | null;
  pssMB: number | null;
  privateMB: number | null;
}

/** As `flotilla status` reads it: resident, proportional (shared pages split) and private. */
async function memoryOf(pid: number): Promise<Memory> {
  const m = await memory(pid);
  return { rssMB: m.memoryMB, pssMB: m.pssMB, privateMB: m.privateMB };
}

/** The quick start's embedded defaults: no shared database or Redis from the caller's shell. */
function embeddedEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  delete env.FLOTILLA_HOME;
  return env;
}

async function startOnce(label: string, home: string, cache?: string): Promise<StartResult> {
  const began = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    [join(ROOT, 'packages/cli/bin/flotilla.js'), 'up', '--file', FLEET, '--home', home],
    {
      cwd: ROOT,
      env: { ...embeddedEnv(), ...(cache ? { XDG_CACHE_HOME: cache } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  const exited = once(child, 'exit');
  try {
    const reportedS = await new Promise<number>((resolve, reject) => {
      const onLine = (line: string) => {
        lines.push(line);
        const m = /is up in ([\d.]+) s/.exec(line);
        if (m?.[1]) resolve(Number(m[1]));
      };
      createInterface({ input: child.stdout! }).on('line', onLine);
      createInterface({ input: child.stderr! }).on('line', onLine);
      void exited.then(() => reject(new Error(`flotilla up exited early:\n${lines.join('\n')}`)));
      setTimeout(() => reject(new Error(`no "is up" within 120 s:\n${lines.join('\n')}`)), 120_000).unref();
    });
    const wallS = (performance.now() - began) / 1000;
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const state = JSON.parse(await readFile(join(home, 'fleet.json'), 'utf8')) as {
      processes: Array<{ name: string; pid: number }>;
    };
    const usage = [
      { name: 'flotilla up (control, databases)', pid: child.pid!, ...(await memoryOf(child.pid!)) },
      ...(await Promise.all(state.processes.map(async (p) => ({ ...p, ...(await memoryOf(p.pid)) })))),
    ];
    return { label, reportedS, wallS, lines, memory: usage };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      await exited;
    }
  }
}

function print(r: StartResult): void {
  const mark = (ok: boolean) => (ok ? 'ok  ' : 'OVER');
  console.log(
    `\n${r.label}: ready in ${r.reportedS.toFixed(1)} s as printed by flotilla up ` +
      `(${r.wallS.toFixed(1)} s from spawn, with CLI load)   target < ${TARGET_START_S} s  ${mark(r.reportedS < TARGET_START_S)}`,
  );
  for (const l of r.lines.filter((l) => /✓/.test(l))) console.log(`  ${l.trim()}`);
  console.log(
    `  idle memory after ${SETTLE_MS / 1000} s, MB (target < ${TARGET_RSS_MB} MB per service; ` +
      `RSS counts Node's shared code in every process, PSS splits it among them):`,
  );
  console.log(`    ${'process'.padEnd(34)} ${'pid'.padEnd(8)}   RSS       PSS   private`);
  const v = (x: number | null) => String(x ?? '?').padStart(5);
  for (const m of r.memory)
    console.log(
      `    ${m.name.padEnd(34)} ${String(m.pid).padEnd(8)} ${v(m.rssMB)} ${mark((m.rssMB ?? Infinity) < TARGET_RSS_MB)} ${v(m.pssMB)} ${mark((m.pssMB ?? Infinity) < TARGET_RSS_MB)} ${v(m.privateMB)}`,
    );
  const total = (k: keyof Memory) => r.memory.reduce((s, m) => s + (m[k] ?? 0), 0);
  console.log(
    `    ${'total'.padEnd(34)} ${''.padEnd(8)} ${v(total('rssMB'))}      ${v(total('pssMB'))}      ${v(total('privateMB'))}`,
  );
}

const home = await mkdtemp(join(tmpdir(), 'flotilla-bench-fleet-'));
try {
  console.log(
    `fleet ${FLEET}, home ${home}, Node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  print(await startOnce('first (fresh home, empty user cache)', join(home, 'first'), join(home, 'cache')));
  print(
    await startOnce(
      'cold (fresh home, cached PGlite template and builds)',
      join(home, 'home'),
      join(home, 'cache'),
    ),
  );
  for (let i = 1; i <= WARM_RUNS; i++)
    print(await startOnce(`warm #${i} (same home)`, join(home, 'home'), join(home, 'cache')));
  console.log(
    `\nload average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await rm(home, { recursive: true, force: true });
}
