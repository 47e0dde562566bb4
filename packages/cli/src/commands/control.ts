import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { adminTokenPath } from '@flotilla/kit/contracts';
import { startControl } from '@flotilla/control';
import type { Handler } from '../cli/spec.js';

/** `flotilla control`: runs the control plane and tells other commands where it is (`<home>/control.json`). */
export const control: Handler = async () => {
  const env = { ...process.env };
  env.FLOTILLA_HOME ??= '.flotilla';
  env.PORT ??= '7443';
  env.CONTROL_PUBLIC_PORT ??= '7080';
  env.LOG_LEVEL ??= 'warn';
  const home = env.FLOTILLA_HOME;
  const running = await startControl({ env });
  const stateFile = join(home, 'control.json');
  await writeFile(
    stateFile,
    `${JSON.stringify({ url: running.url, publicUrl: running.publicUrl, pid: process.pid }, null, 2)}\n`,
  );
  console.log(
    [
      '',
      '  Flotilla control plane is up',
      `  api (mTLS)    ${running.url}`,
      `  crl / ocsp    ${running.publicUrl}/crl/…  ${running.publicUrl}/ocsp`,
      `  root CA       ${running.bundleFile ?? '(not written)'}`,
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
  await running.stop();
  await rm(stateFile, { force: true });
  return 0;
};
