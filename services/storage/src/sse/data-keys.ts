/** The encryption context of a data key: at bucket level, so keys can be made ahead of time. */
export type KeyContext = Record<string, string>;

/**
 * Where per-object data keys come from (envelope encryption): a fresh AES-256 key with
 * its sealed form to store beside the data, and the way back from the sealed form.
 */
export interface DataKeys {
  /** A fresh data key: `plaintext` to encrypt with and forget, `sealed` to store. */
  newKey(context: KeyContext): Promise<{ plaintext: Buffer; sealed: string }>;
  /** The plaintext of a sealed data key, under the same context. */
  openKey(sealed: string, context: KeyContext): Promise<Buffer>;
  /** What the sealed keys are under, for the logs and the README (`kms:storage`, `local`). */
  readonly describe: string;
}

/** A context as AAD: keys sorted, so the same map always gives the same bytes. */
export function contextBytes(context: KeyContext): Buffer {
  const sorted = Object.keys(context)
    .sort()
    .map((k) => [k, context[k]]);
  return Buffer.from(JSON.stringify(sorted), 'utf8');
}
