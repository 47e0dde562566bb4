import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { Dispatcher } from 'undici';
import { FlotillaError } from '../../errors/index.js';
import {
  type CreateKeyRequest,
  DataKey,
  DataKeys,
  Decrypted,
  type EncryptionContext,
  Encrypted,
  KmsKeyList,
  KeyMetadata,
  KMS_ROUTES,
  type UsageRecord,
  UsageList,
} from './schemas.js';

/** One request to the KMS: how it travels (discovery and mTLS, or a fixed URL) is the transport's. */
export interface KmsRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}
export type KmsTransport = (request: KmsRequest) => Promise<Dispatcher.ResponseData>;

/**
 * The transport of a service on the kit: `ctx.call(service, …)` (discovery, balancing,
 * mTLS with the SPIFFE check of `svc/<service>`).
 *
 * @example
 * const kms = new KmsClient(kmsOverCall((s, r) => ctx.call(s, r)));
 */
export function kmsOverCall(
  call: (service: string, request: KmsRequest & { timeoutMs?: number }) => Promise<Dispatcher.ResponseData>,
  service = 'kms',
  timeoutMs = 10_000,
): KmsTransport {
  return (request) => call(service, { ...request, timeoutMs });
}

const checks = new Map<TSchema, ReturnType<typeof TypeCompiler.Compile>>();
function matches<T extends TSchema>(schema: T, value: unknown): value is Static<T> {
  let check = checks.get(schema);
  if (!check) checks.set(schema, (check = TypeCompiler.Compile(schema)));
  return check.Check(value);
}

/**
 * The KMS's API: named keys with versions, data keys for envelope encryption, small
 * payloads, rewrapping, rotation, and key-usage records. Every call is decided by the
 * fleet's Cedar policies on `Key::"<name>"` for the caller's identity and audited; a
 * refusal is the `FlotillaError` the KMS answered with.
 *
 * @example
 * const kms = new KmsClient(kmsOverCall((s, r) => ctx.call(s, r)));
 * const { plaintext, ciphertext } = await kms.generateDataKey('storage', { bucket: 'videos' });
 * // … encrypt with plaintext, forget it, store ciphertext beside the data …
 * const key = await kms.decrypt(ciphertext, { bucket: 'videos' });
 */
export class KmsClient {
  readonly #send: KmsTransport;

  constructor(transport: KmsTransport) {
    this.#send = transport;
  }

  async listKeys(): Promise<KeyMetadata[]> {
    return (await this.#call(KMS_ROUTES.listKeys, KmsKeyList)).keys;
  }

  createKey(request: CreateKeyRequest): Promise<KeyMetadata> {
    return this.#call(KMS_ROUTES.createKey, KeyMetadata, undefined, request);
  }

  describeKey(name: string): Promise<KeyMetadata> {
    return this.#call(KMS_ROUTES.describeKey, KeyMetadata, name);
  }

  /** A new version for encryption; older versions still decrypt (down to the minimum). */
  rotateKey(name: string): Promise<KeyMetadata> {
    return this.#call(KMS_ROUTES.rotateKey, KeyMetadata, name, {});
  }

  disableKey(name: string): Promise<KeyMetadata> {
    return this.#call(KMS_ROUTES.disableKey, KeyMetadata, name, {});
  }

  enableKey(name: string): Promise<KeyMetadata> {
    return this.#call(KMS_ROUTES.enableKey, KeyMetadata, name, {});
  }

  /** Destroys the key after `days` (7-30) unless cancelled; it is unusable meanwhile. */
  scheduleKeyDeletion(name: string, days: number): Promise<KeyMetadata> {
    return this.#call(KMS_ROUTES.scheduleDeletion, KeyMetadata, name, { days });
  }

  cancelKeyDeletion(name: string): Promise<KeyMetadata> {
    return this.#call(KMS_ROUTES.cancelDeletion, KeyMetadata, name, {});
  }

  /** Ciphertexts of versions below `version` are refused from now on. */
  setMinDecryptionVersion(name: string, version: number): Promise<KeyMetadata> {
    return this.#call(KMS_ROUTES.setMinDecryptionVersion, KeyMetadata, name, { version });
  }

  /** A fresh AES-256 data key: `plaintext` to use and forget, `ciphertext` to keep. */
  async generateDataKey(
    name: string,
    context?: EncryptionContext,
  ): Promise<{ plaintext: Buffer; ciphertext: string; keyVersion: number }> {
    const key = await this.#call(KMS_ROUTES.generateDataKey, DataKey, name, context ? { context } : {});
    return {
      plaintext: Buffer.from(key.plaintext, 'base64'),
      ciphertext: key.ciphertext,
      keyVersion: key.keyVersion,
    };
  }

  /**
   * `count` fresh data keys (at most 256) in one round trip, all under the key's current
   * version and `context`; each is for one use only.
   */
  async generateDataKeys(
    name: string,
    count: number,
    context?: EncryptionContext,
  ): Promise<{ plaintext: Buffer; ciphertext: string; keyVersion: number }[]> {
    const body = { count, ...(context ? { context } : {}) };
    const keys = await this.#call(KMS_ROUTES.generateDataKeys, DataKeys, name, body);
    return keys.dataKeys.map((k) => ({
      plaintext: Buffer.from(k.plaintext, 'base64'),
      ciphertext: k.ciphertext,
      keyVersion: keys.keyVersion,
    }));
  }

  /** Encrypts a small payload (at most 4 KiB) under the key's current version. */
  async encrypt(name: string, plaintext: Uint8Array, context?: EncryptionContext): Promise<string> {
    const body = { plaintext: Buffer.from(plaintext).toString('base64'), ...(context ? { context } : {}) };
    return (await this.#call(KMS_ROUTES.encrypt, Encrypted, name, body)).ciphertext;
  }

  /** The plaintext of a ciphertext made by `encrypt` or `generateDataKey`, with the same context. */
  async decrypt(ciphertext: string, context?: EncryptionContext): Promise<Buffer> {
    const body = { ciphertext, ...(context ? { context } : {}) };
    return Buffer.from(
      (await this.#call(KMS_ROUTES.decrypt, Decrypted, undefined, body)).plaintext,
      'base64',
    );
  }

  /** The same plaintext under the key's current version; the plaintext never leaves the KMS. */
  async reEncrypt(ciphertext: string, context?: EncryptionContext): Promise<string> {
    const body = { ciphertext, ...(context ? { context } : {}) };
    return (await this.#call(KMS_ROUTES.reEncrypt, Encrypted, undefined, body)).ciphertext;
  }

  /** Who used the key for what (key-usage monitoring), newest first. */
  async usage(name: string, opts: { since?: string; limit?: number } = {}): Promise<UsageRecord[]> {
    const query = new URLSearchParams();
    if (opts.since) query.set('since', opts.since);
    if (opts.limit) query.set('limit', String(opts.limit));
    const route = {
      ...KMS_ROUTES.usage,
      path: `${KMS_ROUTES.usage.path}${query.size ? `?${query.toString()}` : ''}`,
    };
    return (await this.#call(route, UsageList, name)).records;
  }

  async #call<T extends TSchema>(
    route: { method: 'GET' | 'POST'; path: string },
    answer: T,
    name?: string,
    body?: unknown,
  ): Promise<Static<T>> {
    const path = name === undefined ? route.path : route.path.replace(':name', encodeURIComponent(name));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.#send({
      method: route.method,
      path,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    let json: unknown;
    try {
      json = await res.body.json();
    } catch (cause) {
      throw new FlotillaError('FLT_UPSTREAM_FAILED', `kms answered ${res.statusCode} without JSON`, {
        cause,
      });
    }
    // RFC 9457: a refusal is problem+json; rebuilt with its stable code.
    if (res.statusCode >= 400) throw FlotillaError.fromProblem(json);
    if (!matches(answer, json))
      throw new FlotillaError('FLT_UPSTREAM_FAILED', `kms answered ${path} unexpectedly`);
    return json;
  }
}
