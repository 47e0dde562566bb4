import type { KmsClient } from '@flotilla/kit/contracts';
import type { DataKeys, KeyContext } from './data-keys.js';

/** Data keys from the fleet's KMS: `kms:GenerateDataKey` and `kms:Decrypt` on one named key. */
export class KmsDataKeys implements DataKeys {
  readonly describe: string;

  constructor(
    private readonly kms: KmsClient,
    private readonly keyName: string,
  ) {
    this.describe = `kms:${keyName}`;
  }

  async newKey(context: KeyContext): Promise<{ plaintext: Buffer; sealed: string }> {
    const key = await this.kms.generateDataKey(this.keyName, context);
    return { plaintext: key.plaintext, sealed: key.ciphertext };
  }

  openKey(sealed: string, context: KeyContext): Promise<Buffer> {
    return this.kms.decrypt(sealed, context);
  }
}
