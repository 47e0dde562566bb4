// The stream-token key is opened when first needed: the fleet starts services and the KMS
// together, so a KMS that is not up yet must fail one attempt, not the service.
import type { Queryable } from '@flotilla/kit';
import { describe, expect, it } from 'vitest';
import { lazyStreamKey } from '../src/stream-keys.js';

/** A one-row `stream_keys` table, as the migration makes it. */
function table(): Queryable {
  let sealed: string | undefined;
  return {
    query: (async (sql: string, params?: unknown[]) => {
      if (sql.startsWith('INSERT')) sealed ??= params?.[0] as string;
      return { rows: sealed === undefined ? [] : [{ sealed }] };
    }) as Queryable['query'],
  } as Queryable;
}

/** A KMS that is away for the first `away` calls, then seals by wrapping in base64. */
function kms(away: number) {
  const calls: string[] = [];
  const up = () => {
    if (calls.length <= away) throw new Error('no instance of kms is available');
  };
  return {
    calls,
    encrypt: async (_name: string, plaintext: Uint8Array) => {
      calls.push('encrypt');
      up();
      return `sealed:${Buffer.from(plaintext).toString('base64')}`;
    },
    decrypt: async (ciphertext: string) => {
      calls.push('decrypt');
      up();
      return Buffer.from(ciphertext.slice('sealed:'.length), 'base64');
    },
  };
}

describe('lazyStreamKey', () => {
  it('does not remember a failure: the next call opens the key', async () => {
    const k = kms(1);
    const key = lazyStreamKey(table(), k, 'stream-tokens');
    await expect(key()).rejects.toThrow(/no instance of kms/);
    const opened = await key();
    expect(opened).toHaveLength(32);
    expect(await key()).toBe(opened); // then from memory, no more KMS calls
    expect(k.calls).toEqual(['encrypt', 'encrypt', 'decrypt']);
  });

  it('seals once: a second instance on the same table opens the same key', async () => {
    const db = table();
    const first = await lazyStreamKey(db, kms(0), 'stream-tokens')();
    const second = await lazyStreamKey(db, kms(0), 'stream-tokens')();
    expect(Buffer.from(second)).toEqual(Buffer.from(first));
  });
});
