import { CompactSign, compactVerify, type CryptoKey, type JWK, type KeyObject, importJWK } from 'jose';
import type { Authorizer } from './authorizer.js';
import { type CompiledPolicies, compilePolicies } from './compile.js';
import { PolicyError } from './errors.js';

/** JWS `typ` of a policy bundle (RFC 7515 §4.1.9): refuses a JWS minted for anything else. */
export const BUNDLE_TYP = 'flotilla-policy-bundle+jws';
/** The only algorithm accepted; never taken from the token itself. */
const ALGORITHMS = ['ES256'];
const MAX_BUNDLE_BYTES = 8 * 1024 * 1024;

export interface BundleContent {
  /** Cedar files by name. */
  policies: Record<string, string>;
  schema: string;
  /** Monotonic version: a verifier refuses anything not newer than what it runs. */
  version: number;
}

export type BundleKey = CryptoKey | KeyObject | JWK;

export interface VerifiedBundle {
  version: number;
  kid: string | undefined;
  compiled: CompiledPolicies;
}

/**
 * Signs a policy bundle as a JWS compact serialisation (ES256). The contents are
 * validated first: a bundle that would not load is never produced.
 *
 * @example
 * const { privateKey } = await generateKeyPair('ES256');
 * const bytes = await createBundle({ policies, schema, version: 7 }, privateKey, { kid: 'policy-2026-11' });
 */
export async function createBundle(
  content: BundleContent,
  signingKey: BundleKey,
  opts: { kid?: string } = {},
): Promise<Uint8Array> {
  checkVersion(content.version);
  compilePolicies({ schema: content.schema, files: content.policies });
  const payload = { version: content.version, schema: content.schema, policies: content.policies };
  const key = isJwk(signingKey) ? await importJWK(signingKey, 'ES256') : signingKey;
  const header = { alg: 'ES256', typ: BUNDLE_TYP, ...(opts.kid ? { kid: opts.kid } : {}) };
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header)
    .sign(key);
  return new TextEncoder().encode(jws);
}

/**
 * Verifies a bundle's signature against the trusted keys and validates its policies.
 * Throws `POLICY_BUNDLE_MALFORMED`, `POLICY_BUNDLE_SIGNATURE` or `POLICY_INVALID`.
 */
export async function verifyBundle(
  bytes: Uint8Array | string,
  publicKeys: readonly BundleKey[],
): Promise<VerifiedBundle> {
  const { version, kid, content } = await openBundle(bytes, publicKeys);
  const compiled = compilePolicies({ schema: content.schema, files: content.policies });
  return { version, kid, compiled };
}

/**
 * Verifies a bundle's signature and reads its content, without compiling its policies:
 * for a caller that compiles them itself together with its own (one validation, not two).
 * Throws `POLICY_BUNDLE_MALFORMED` or `POLICY_BUNDLE_SIGNATURE`.
 */
export async function openBundle(
  bytes: Uint8Array | string,
  publicKeys: readonly BundleKey[],
): Promise<{ version: number; kid: string | undefined; content: BundleContent }> {
  const jws = typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes);
  if (jws.length > MAX_BUNDLE_BYTES) throw new PolicyError('FLT_POLICY_BUNDLE_MALFORMED', 'bundle too large');
  if (jws.split('.').length !== 3)
    throw new PolicyError('FLT_POLICY_BUNDLE_MALFORMED', 'bundle is not a JWS compact serialisation');
  if (publicKeys.length === 0)
    throw new PolicyError('FLT_POLICY_BUNDLE_SIGNATURE', 'no trusted bundle keys configured');

  let verified: Awaited<ReturnType<typeof compactVerify>> | undefined;
  let lastError: unknown;
  for (const k of orderByKid(publicKeys, headerKid(jws))) {
    try {
      const key = isJwk(k) ? await importJWK(k, 'ES256') : k;
      verified = await compactVerify(jws, key, { algorithms: ALGORITHMS });
      break;
    } catch (err) {
      lastError = err;
    }
  }
  if (!verified) {
    const why = lastError instanceof Error ? lastError.message : 'no key matched';
    throw new PolicyError('FLT_POLICY_BUNDLE_SIGNATURE', `bundle signature does not verify: ${why}`, {
      cause: lastError,
    });
  }
  if (verified.protectedHeader.typ !== BUNDLE_TYP) {
    throw new PolicyError(
      'FLT_POLICY_BUNDLE_MALFORMED',
      `unexpected bundle typ "${String(verified.protectedHeader.typ)}"`,
    );
  }
  const content = parsePayload(verified.payload);
  return { version: content.version, kid: verified.protectedHeader.kid, content };
}

/**
 * Verifies a bundle and makes it the engine's policy set, only if it is newer than the
 * bundle in force. On any failure the engine keeps its current set.
 */
export async function applyBundle(
  engine: Authorizer,
  bytes: Uint8Array | string,
  publicKeys: readonly BundleKey[],
): Promise<VerifiedBundle> {
  const bundle = await verifyBundle(bytes, publicKeys);
  // Checked after the await, right before the swap, so two bundles racing cannot both win.
  if (bundle.version <= engine.bundleVersion) {
    throw new PolicyError(
      'FLT_POLICY_BUNDLE_REPLAY',
      `bundle version ${bundle.version} is not newer than version ${engine.bundleVersion} in force`,
    );
  }
  engine.reload(bundle.compiled, { bundleVersion: bundle.version });
  return bundle;
}

function parsePayload(payload: Uint8Array): BundleContent {
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder().decode(payload));
  } catch (cause) {
    throw new PolicyError('FLT_POLICY_BUNDLE_MALFORMED', 'bundle payload is not JSON', { cause });
  }
  const rec = data as Record<string, unknown>;
  const keys = data && typeof data === 'object' ? Object.keys(rec).sort().join(',') : '';
  if (keys !== 'policies,schema,version') {
    throw new PolicyError(
      'FLT_POLICY_BUNDLE_MALFORMED',
      'bundle payload must have exactly version, schema, policies',
    );
  }
  checkVersion(rec.version);
  const policies = rec.policies as Record<string, unknown>;
  if (
    typeof rec.schema !== 'string' ||
    !policies ||
    typeof policies !== 'object' ||
    Array.isArray(policies)
  ) {
    throw new PolicyError(
      'FLT_POLICY_BUNDLE_MALFORMED',
      'bundle schema must be text and policies a map of files',
    );
  }
  for (const [name, text] of Object.entries(policies)) {
    if (typeof text !== 'string' || !name.endsWith('.cedar')) {
      throw new PolicyError('FLT_POLICY_BUNDLE_MALFORMED', `bundle policy file "${name}" is malformed`);
    }
  }
  return { version: rec.version, schema: rec.schema, policies: policies as Record<string, string> };
}

function checkVersion(version: unknown): asserts version is number {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new PolicyError('FLT_POLICY_BUNDLE_MALFORMED', 'bundle version must be a positive integer');
  }
}

function headerKid(jws: string): string | undefined {
  try {
    const header = JSON.parse(Buffer.from(jws.split('.')[0] ?? '', 'base64url').toString('utf8')) as {
      kid?: unknown;
    };
    return typeof header.kid === 'string' ? header.kid : undefined;
  } catch {
    return undefined;
  }
}

// A key whose JWK `kid` matches the header is tried first; the rest still get a chance,
// since CryptoKeys carry no kid. Trying a wrong key is harmless: it fails to verify.
function orderByKid(keys: readonly BundleKey[], kid: string | undefined): BundleKey[] {
  if (!kid) return [...keys];
  const match = keys.filter((k) => isJwk(k) && k.kid === kid);
  return [...match, ...keys.filter((k) => !match.includes(k))];
}

function isJwk(key: BundleKey): key is JWK {
  return typeof (key as JWK).kty === 'string';
}
