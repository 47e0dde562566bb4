import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { BaseConfig } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import type { IdentitySource } from './tls-material.js';
import { WorkloadIdentity } from './workload-identity.js';

/** Joins the control plane when one is configured; without one the service runs plain HTTP. */
export async function joinControlPlane(
  service: string,
  config: BaseConfig,
  log: Logger,
): Promise<IdentitySource | undefined> {
  if (!config.FLOTILLA_CONTROL_URL) {
    log.warn(
      'FLOTILLA_CONTROL_URL is not set: serving plain HTTP without a workload identity (local development only)',
    );
    return undefined;
  }
  const token =
    config.FLOTILLA_JOIN_TOKEN ??
    (await readSetting(config.FLOTILLA_JOIN_TOKEN_FILE, 'FLOTILLA_JOIN_TOKEN_FILE'));
  if (!token) {
    throw new ConfigError(
      'FLOTILLA_JOIN_TOKEN',
      'FLOTILLA_JOIN_TOKEN (or FLOTILLA_JOIN_TOKEN_FILE) is required with FLOTILLA_CONTROL_URL',
    );
  }
  const bundleFile = config.FLOTILLA_CA_BUNDLE_FILE ?? join(config.FLOTILLA_HOME, 'ca.pem');
  const initialTrust = await readSetting(bundleFile, 'FLOTILLA_CA_BUNDLE_FILE');
  if (!initialTrust)
    throw new ConfigError('FLOTILLA_CA_BUNDLE_FILE', `FLOTILLA_CA_BUNDLE_FILE: ${bundleFile} is empty`);
  return WorkloadIdentity.join({
    service,
    trustDomain: config.FLOTILLA_TRUST_DOMAIN,
    controlUrl: config.FLOTILLA_CONTROL_URL,
    joinToken: token,
    initialTrust,
    log,
    refreshMs: config.FLOTILLA_REFRESH_MS,
  });
}

async function readSetting(path: string | undefined, setting: string): Promise<string | undefined> {
  if (!path) return undefined;
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw new ConfigError(
      setting,
      `${setting}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}
