import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { adminTokenPath } from '@flotilla/kit/contracts';
import { startControl } from '@flotilla/control';
import { printError } from '../output.js';

const USAGE = `usage: flotilla control

Runs the control plane (certificate authority) alone, in the foreground.
Settings from the environment: FLOTILLA_HOME (.flotilla), PORT (API, mTLS; 7443),
CONTROL_PUBLIC_PORT (CRL/OCSP, plain HTTP; 7080), FLOTILLA_TRUST_DOMAIN,
FLOTILLA_CERT_TTL_SECONDS, FLOTILLA_CA_KEK, FLOTILLA_ADMIN_TOKEN, DATABASE_URL.`;

/** `flotilla control`: runs the control plane and tells other commands where it is. */
export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  if (argv.length > 0) {
    printError(`unexpected argument "${argv[0]}" (run "flotilla control --help")`);
    return 2;
  }
  const env = { ...process.env };
  env.FLOTILLA_HOME ??= '.flotilla';
  env.PORT ??= '7443';
  env.CONTROL_PUBLIC_PORT ??= '7080';
  env.LOG_LEVEL ??= 'warn';
  const home = env.FLOTILLA_HOME;
  const control = await startControl({ env });
  const stateFile = join(home, 'control.json');
  await writeFile(
    stateFile,
    `${JSON.stringify({ url: control.url, publicUrl: control.publicUrl, pid: process.pid }, null, 2)}\n`,
  );
  console.log(
    [
      '',
      '  Flotilla control plane is up',
      `  api (mTLS)    ${control.url}`,
      `  crl / ocsp    ${control.publicUrl}/crl/…  ${control.publicUrl}/ocsp`,
      `  root CA       ${control.bundleFile ?? '(not written)'}`,
      `  admin token   ${env.FLOTILLA_ADMIN_TOKEN ? 'from FLOTILLA_ADMIN_TOKEN' : adminTokenPath(home)}`,
      '  stop          Ctrl-C',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await control.stop();
  await rm(stateFile, { force: true });
  return 0;
}
