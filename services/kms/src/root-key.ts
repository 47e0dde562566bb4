import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { ConfigError } from '@flotilla/kit';

export const ROOT_KEY_BYTES = 32;

/**
 * The root key that seals every key version: `FLOTILLA_KMS_ROOT_KEY`, else the file
 * `KMS_ROOT_KEY_FILE`. A file anyone but its owner may read, or a key that is not 32
 * bytes, stops the service with one line that says what to fix.
 */
export function loadRootKey(cfg: { FLOTILLA_KMS_ROOT_KEY?: string; KMS_ROOT_KEY_FILE?: string }): Buffer {
  if (cfg.FLOTILLA_KMS_ROOT_KEY !== undefined)
    return decodeRootKey(cfg.FLOTILLA_KMS_ROOT_KEY, 'FLOTILLA_KMS_ROOT_KEY', 'FLOTILLA_KMS_ROOT_KEY');
  const path = cfg.KMS_ROOT_KEY_FILE;
  if (path === undefined)
    throw new ConfigError(
      'FLOTILLA_KMS_ROOT_KEY',
      'the KMS needs a root key: set FLOTILLA_KMS_ROOT_KEY (base64 of 32 bytes) or KMS_ROOT_KEY_FILE',
    );
  return decodeRootKey(readPrivate(path), 'KMS_ROOT_KEY_FILE', path);
}

function decodeRootKey(text: string, setting: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  // Round-trip check: Buffer.from ignores characters that are not base64.
  if (
    key.length !== ROOT_KEY_BYTES ||
    key.toString('base64').replace(/=+$/, '') !== trimmed.replace(/=+$/, '')
  )
    throw new ConfigError(
      setting,
      `${setting}: ${where} must hold the base64 of exactly ${ROOT_KEY_BYTES} bytes (openssl rand -base64 32)`,
    );
  return key;
}

/** Read through one descriptor, so the mode checked is the mode of the bytes read. */
function readPrivate(path: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error('not a regular file');
    const mode = stat.mode & 0o777;
    if ((mode & 0o077) !== 0)
      throw new ConfigError(
        'KMS_ROOT_KEY_FILE',
        `KMS_ROOT_KEY_FILE: ${path} has mode 0${mode.toString(8)}; the root key must be 0600 (chmod 600 ${path})`,
      );
    return readFileSync(fd, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(
      'KMS_ROOT_KEY_FILE',
      `KMS_ROOT_KEY_FILE: cannot read ${path} (${(err as Error).message})`,
    );
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
