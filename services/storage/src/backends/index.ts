import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@flotilla/kit';
import type { BlobBackend } from './backend.js';
import { DiskBackend } from './disk.js';

export type { BlobBackend } from './backend.js';
export { DiskBackend } from './disk.js';

/**
 * The backend `STORAGE_URL` names: unset, `<FLOTILLA_HOME>/data/storage-objects/` on local disk;
 * `file:///path`; or `s3://bucket[/prefix]?endpoint=…&forcePathStyle=true`.
 */
export async function openBackend(url: string | undefined, home: string): Promise<BlobBackend> {
  // Beside the service's PGlite folder (`data/storage`), never inside it.
  if (!url) return initDisk(join(home, 'data', 'storage-objects'));
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('STORAGE_URL', `STORAGE_URL is not a URL: ${url}`);
  }
  if (parsed.protocol === 'file:') return initDisk(fileURLToPath(parsed));
  if (parsed.protocol === 's3:') {
    // The AWS SDK is loaded only for S3 (~0.2 s of CPU at every start otherwise).
    const { parseS3Url, S3Backend } = await import('./s3.js');
    return new S3Backend(parseS3Url(parsed));
  }
  throw new ConfigError('STORAGE_URL', `STORAGE_URL must be file:// or s3://, not ${parsed.protocol}`);
}

async function initDisk(root: string): Promise<DiskBackend> {
  const disk = new DiskBackend(root);
  await disk.init();
  return disk;
}
