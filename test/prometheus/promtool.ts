// promtool (Debian's `prometheus` package) for the tests: found on PATH, or undefined so that
// the tests skip with a message naming the package.
import { spawnSync } from 'node:child_process';

export const PROMTOOL_PACKAGE = 'prometheus';

/** The promtool on PATH, or undefined (after a warning naming the package to install). */
export function findPromtool(): string | undefined {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (probe.status === 0) return 'promtool';
  console.warn(
    `promtool not found: the Prometheus rule and metric tests are skipped. ` +
      `Install Debian's "${PROMTOOL_PACKAGE}" package (apt-get install ${PROMTOOL_PACKAGE}); .ci/run does.`,
  );
  return undefined;
}

export interface PromtoolRun {
  status: number | null;
  /** stdout and stderr together, as promtool prints them. */
  output: string;
}

/** Runs promtool with `args` (and `input` on stdin) in `cwd`. */
export function promtool(args: string[], opts: { cwd?: string; input?: string } = {}): PromtoolRun {
  const run = spawnSync('promtool', args, {
    cwd: opts.cwd,
    input: opts.input,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return { status: run.status, output: `${run.stdout ?? ''}${run.stderr ?? ''}` };
}
