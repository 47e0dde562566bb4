import { hash, verify } from '@node-rs/argon2';

// `Algorithm.Argon2id` of @node-rs/argon2 (an ambient const enum, not importable as a value here).
const ARGON2ID = 2;

/** Argon2id cost parameters (RFC 9106 §4; OWASP minimum m=19 MiB, t=2, p=1). */
export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export const DEFAULT_ARGON2: Argon2Params = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export function describeArgon2(p: Argon2Params): string {
  return `argon2id m=${p.memoryCost} KiB, t=${p.timeCost}, p=${p.parallelism}`;
}

export function hashSecret(secret: string, params: Argon2Params): Promise<string> {
  return hash(secret, { algorithm: ARGON2ID, ...params });
}

/** Verifies against a PHC string; any malformed hash is a mismatch, never an exception. */
export async function verifySecret(phc: string, secret: string): Promise<boolean> {
  try {
    return await verify(phc, secret);
  } catch {
    return false;
  }
}

/**
 * A hash of a random value made once per process: verifying an unknown user's
 * password against it costs the same time as a real one (no user enumeration by timing).
 */
export function dummyHasher(params: Argon2Params): () => Promise<string> {
  let dummy: Promise<string> | undefined;
  return () => (dummy ??= hashSecret(crypto.randomUUID(), params));
}
