import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FlotillaError, type RunningService, type StartOptions } from '@flotilla/kit';
import type { CertificateAuthority } from './ca/certificate-authority.js';
import type { TrustBundle } from './ca/ca-store.js';
import type { ControlConfig } from './config.js';
import { type ControlInternals, createControlService } from './service.js';

export interface StartControlOptions extends Omit<StartOptions, 'identity'> {
  /** Write the roots to `<FLOTILLA_HOME>/ca.pem`, where services look for their first trust (default true). */
  writeBundleFile?: boolean;
}

export interface RunningControl {
  /** The API, served over mTLS: `https://…`. */
  url: string;
  /** The plain-HTTP listener for CRLs and OCSP, as written into certificates. */
  publicUrl: string;
  adminToken: string;
  /** Path of the root bundle file written at start (if any). */
  bundleFile: string | undefined;
  bundle(): TrustBundle;
  /** The CA itself, for tests and the benchmark (not reachable over HTTP). */
  ca: CertificateAuthority;
  service: RunningService<ControlConfig>;
  stop(): Promise<void>;
}

/**
 * Starts the control plane in this process: for tests, and for `flotilla control` and
 * `flotilla up`.
 *
 * @example
 * const control = await startControl({ env: { FLOTILLA_HOME: dir }, inMemoryDb: true });
 * const roots = control.bundle().roots;
 * await control.stop();
 */
export async function startControl(opts: StartControlOptions = {}): Promise<RunningControl> {
  let internals: ControlInternals | undefined;
  const service = await createControlService((i) => {
    internals = i;
  }).start(opts);
  if (!internals) {
    await service.stop();
    throw new FlotillaError('FLT_INTERNAL', 'control plane started without its certificate authority');
  }
  const { ca, publicUrl, adminToken } = internals;
  let bundleFile: string | undefined;
  if (opts.writeBundleFile ?? true) {
    const file = join(service.ctx.config.FLOTILLA_HOME, 'ca.pem');
    bundleFile = file;
    await mkdir(service.ctx.config.FLOTILLA_HOME, { recursive: true });
    await writeFile(file, ca.bundle().roots.join(''), { mode: 0o644 });
    // Kept current across rotations: a service that starts later must trust the roots of now.
    let written = ca.bundle().version;
    const watcher = setInterval(() => {
      const bundle = ca.bundle();
      if (bundle.version === written) return;
      written = bundle.version;
      writeFile(file, bundle.roots.join(''), { mode: 0o644 }).catch((err: unknown) =>
        service.ctx.log.warn({ err }, `could not update ${file}`),
      );
    }, 1000);
    watcher.unref();
    service.ctx.onClose(() => clearInterval(watcher));
  }
  return {
    url: service.url,
    publicUrl,
    adminToken,
    bundleFile,
    bundle: () => ca.bundle(),
    ca,
    service,
    stop: () => service.stop(),
  };
}
