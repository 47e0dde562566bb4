import { hello } from '@flotilla/example-hello';
import { runService } from '@flotilla/kit';

/**
 * `flotilla up`: runs the fleet on this machine. Until the fleet file lands it runs
 * the sample `hello` service with embedded defaults.
 */
export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    console.log(
      'usage: flotilla up\n\nRuns the sample service on embedded defaults (PORT, DATABASE_URL and LOG_LEVEL apply).',
    );
    return 0;
  }
  const started = Date.now();
  process.env.PORT ??= '8080';
  process.env.LOG_LEVEL ??= 'warn';
  const running = await runService(hello);
  if (!running) return process.exitCode === undefined ? 1 : Number(process.exitCode);
  console.log(
    [
      '',
      `  Flotilla is up in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      `  open      ${running.url}/`,
      `  health    ${running.url}/readyz   metrics ${running.url}/metrics`,
      '  stop      Ctrl-C',
      '',
    ].join('\n'),
  );
  // runService exits the process on SIGTERM/SIGINT once drained.
  await new Promise(() => undefined);
  return 0;
}
