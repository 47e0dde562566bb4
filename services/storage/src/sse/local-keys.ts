import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { ConfigError } from '@flotilla/kit';
import { contextBytes, type DataKeys, type KeyContext } from './data-keys.js';
import { integrity } from './format.js';

const PREFIX = 'local:v1:';

/**
 * Data keys sealed under a local 32-byte root key (AES-256-GCM, the context as AAD): for
 * running storage without a KMS. The file is created at first start, 0600, and refused
 * when anyone but its owner could read it.
 */
export class LocalDataKeys implements DataKeys {
  readonly describe = 'local';

  private constructor(private readonly root: Buffer) {}

  static async open(file: string): Promise<LocalDataKeys> {
    const existing = await stat(file).catch(() => undefined);
    if (!existing) {
      await writeFile(file, randomBytes(32), { mode: 0o600, flag: 'wx' });
      await chmod(file, 0o600);
    } else if ((existing.mode & 0o077) !== 0) {
      throw new ConfigError(
        'STORAGE_LOCAL_KEY_FILE',
        `${file} must be readable by its owner only (chmod 600)`,
      );
    }
    const root = await readFile(file);
    if (root.length !== 32)
      throw new ConfigError('STORAGE_LOCAL_KEY_FILE', `${file} must hold exactly 32 bytes`);
    return new LocalDataKeys(root);
  }

  newKey(context: KeyContext): Promise<{ plaintext: Buffer; sealed: string }> {
    const plaintext = randomBytes(32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.root, iv);
    cipher.setAAD(contextBytes(context));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const sealed = PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
    return Promise.resolve({ plaintext, sealed });
  }

  openKey(sealed: string, context: KeyContext): Promise<Buffer> {
    if (!sealed.startsWith(PREFIX))
      return Promise.reject(integrity('the data key was not sealed by the local key'));
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64url');
    if (raw.length !== 12 + 32 + 16) return Promise.reject(integrity('the sealed data key is malformed'));
    const decipher = createDecipheriv('aes-256-gcm', this.root, raw.subarray(0, 12));
    decipher.setAAD(contextBytes(context));
    decipher.setAuthTag(raw.subarray(44));
    try {
      return Promise.resolve(Buffer.concat([decipher.update(raw.subarray(12, 44)), decipher.final()]));
    } catch (cause) {
      return Promise.reject(
        integrity('the data key does not open under the local key and this context', cause),
      );
    }
  }
}
