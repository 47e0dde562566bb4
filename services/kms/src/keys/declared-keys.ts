import { readFileSync } from 'node:fs';
import { ConfigError } from '@flotilla/kit';
import { CreateKeyRequest } from '@flotilla/kit/contracts';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { KeyStore } from './key-store.js';

const check = TypeCompiler.Compile(CreateKeyRequest);

/** `KMS_KEYS_FILE`: the keys the fleet file declares, `[{name, description?, rotationDays?}]`. */
export function readDeclaredKeys(path: string): CreateKeyRequest[] {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError('KMS_KEYS_FILE', `KMS_KEYS_FILE: cannot read ${path} (${(err as Error).message})`);
  }
  if (!Array.isArray(value))
    throw new ConfigError('KMS_KEYS_FILE', `KMS_KEYS_FILE: ${path} must hold a JSON array of keys`);
  return value.map((entry: unknown, i) => {
    if (!check.Check(entry)) {
      const first = [...check.Errors(entry)][0];
      throw new ConfigError(
        'KMS_KEYS_FILE',
        `KMS_KEYS_FILE: ${path} [${i}]${first?.path ?? ''}: ${first?.message ?? 'invalid key'}`,
      );
    }
    return entry;
  });
}

/** Creates the declared keys that do not exist yet; an existing key is left as it is (idempotent). */
export async function ensureDeclaredKeys(
  store: KeyStore,
  keys: readonly CreateKeyRequest[],
  now: Date,
): Promise<string[]> {
  const created: string[] = [];
  for (const key of keys) if (await store.create(key, now)) created.push(key.name);
  return created;
}
