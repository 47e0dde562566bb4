import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FlotillaError } from '@flotilla/kit';

/** Where the control plane keeps secrets: beside, never inside, the data directory. */
export function secretsDir(home: string): string {
  return join(home, 'secrets');
}

/**
 * Reads a secret file, creating it with `make()` (mode 0600, folder 0700) on first use.
 * A file that others may read is refused rather than silently trusted.
 */
export async function readOrCreateSecret(path: string, make: () => string): Promise<string> {
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      throw new FlotillaError(
        'FLT_CONFIG_INVALID',
        `${path} is readable by others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`,
      );
    }
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const value = make();
  try {
    // 'wx': two processes starting at once must not overwrite each other's secret.
    await writeFile(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
    return value;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return (await readFile(path, 'utf8')).trim();
    throw err;
  }
}

export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
