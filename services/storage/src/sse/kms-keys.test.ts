// The KMS half of DataKeys against the KMS wire contract (the KMS service itself is built
// on another branch): what storage asks for, and that it round-trips a data key.
import { randomBytes } from 'node:crypto';
import { KmsClient, type KmsRequest } from '@flotilla/kit/contracts';
import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { KmsDataKeys } from './kms-keys.js';

/** Answers the two routes storage uses as the contract says, remembering every request. */
function contractKms() {
  const seen: KmsRequest[] = [];
  const sealed = new Map<string, { plaintext: string; context: unknown }>();
  const answer = (statusCode: number, json: unknown) =>
    ({
      statusCode,
      headers: {},
      body: { json: () => Promise.resolve(json) },
    }) as unknown as Dispatcher.ResponseData;
  const transport = (req: KmsRequest) => {
    seen.push(req);
    const body = JSON.parse(req.body ?? '{}') as { context?: unknown; ciphertext?: string };
    if (req.path === '/v1/keys/storage/generate-data-key') {
      const plaintext = randomBytes(32).toString('base64');
      const ciphertext = `kms:storage:1:${randomBytes(8).toString('hex')}`;
      sealed.set(ciphertext, { plaintext, context: body.context });
      return Promise.resolve(answer(200, { plaintext, ciphertext, key: 'storage', keyVersion: 1 }));
    }
    const known = sealed.get(body.ciphertext ?? '');
    if (req.path === '/v1/decrypt' && known && JSON.stringify(known.context) === JSON.stringify(body.context))
      return Promise.resolve(answer(200, { plaintext: known.plaintext, key: 'storage', keyVersion: 1 }));
    return Promise.resolve(answer(403, { status: 403, code: 'FLT_POLICY_DENIED', detail: 'no' }));
  };
  return { client: new KmsClient(transport), seen };
}

describe('KmsDataKeys', () => {
  it('generates under the configured key with the bucket as context, and opens with the same', async () => {
    const { client, seen } = contractKms();
    const keys = new KmsDataKeys(client, 'storage');
    const made = await keys.newKey({ bucket: 'videos' });
    expect(made.plaintext).toHaveLength(32);
    expect(seen[0]).toMatchObject({ method: 'POST', path: '/v1/keys/storage/generate-data-key' });
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ context: { bucket: 'videos' } });
    expect((await keys.openKey(made.sealed, { bucket: 'videos' })).equals(made.plaintext)).toBe(true);
    await expect(keys.openKey(made.sealed, { bucket: 'other' })).rejects.toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
    expect(keys.describe).toBe('kms:storage');
  });
});
