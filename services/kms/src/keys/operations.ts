import { randomBytes } from 'node:crypto';
import { FlotillaError } from '@flotilla/kit';
import type { CreateKeyRequest, EncryptionContext, KeyMetadata, UsageRecord } from '@flotilla/kit/contracts';
import { decryptWith, encryptUnder, type ParsedCiphertext, parseCiphertext } from '../crypto/ciphertext.js';
import { KEY_BYTES } from '../crypto/root-seal.js';
import type { UsageLog } from '../usage/usage-log.js';
import type { Caller, KeyAction, KeyAuthz } from './key-authz.js';
import type { KeyStore } from './key-store.js';

const DAY_MS = 86_400_000;

/** Refusals the usage log has recorded already (the routes' error hook audits the others). */
export const recordedErrors = new WeakSet<object>();

/** What one use of a key produced: its answer, and the key version it used (for the record). */
interface Used<T> {
  result: T;
  version: number | null;
}

/**
 * The KMS's operations (AWS KMS's names, Vault transit's versions). Each one is decided
 * by policy on the key, then checked against the key's state, then done — and recorded,
 * whatever the outcome, by the usage log. A refusal changes nothing.
 */
export class KeyOperations {
  constructor(
    private readonly store: KeyStore,
    private readonly authz: KeyAuthz,
    private readonly usage: UsageLog,
    private readonly now: () => Date,
  ) {}

  createKey(caller: Caller, req: CreateKeyRequest): Promise<KeyMetadata> {
    return this.use(caller, 'CreateKey', 'kms:CreateKey', req.name, {}, async () => {
      const created = await this.store.create(req, this.now());
      if (!created) throw new FlotillaError('FLT_CONFLICT', `key ${req.name} exists`);
      return { result: created, version: 1 };
    });
  }

  describeKey(caller: Caller, name: string): Promise<KeyMetadata> {
    return this.admin(caller, 'DescribeKey', 'kms:DescribeKey', name, (key) => Promise.resolve(key));
  }

  /** The keys this caller may list (`kms:ListKeys` on each): no key is revealed to a caller without it. */
  async listKeys(caller: Caller): Promise<KeyMetadata[]> {
    const listed = (await this.store.list()).filter((k) => this.authz.allows(caller, 'kms:ListKeys', k.name));
    await this.usage.note({
      actor: caller.id,
      action: 'kms.ListKeys',
      outcome: 'success',
      details: { keys: listed.length },
    });
    return listed;
  }

  rotateKey(caller: Caller, name: string): Promise<KeyMetadata> {
    return this.admin(caller, 'RotateKey', 'kms:Rotate', name, async (key) => {
      usable(key);
      return (await this.store.rotate(name, this.now()))!;
    });
  }

  disableKey(caller: Caller, name: string): Promise<KeyMetadata> {
    return this.admin(caller, 'DisableKey', 'kms:Disable', name, (key) => {
      notPendingDeletion(key);
      return this.store.update(name, { state: 'disabled' });
    });
  }

  enableKey(caller: Caller, name: string): Promise<KeyMetadata> {
    return this.admin(caller, 'EnableKey', 'kms:Enable', name, (key) => {
      notPendingDeletion(key);
      return this.store.update(name, { state: 'enabled' });
    });
  }

  scheduleKeyDeletion(caller: Caller, name: string, days: number): Promise<KeyMetadata> {
    return this.admin(caller, 'ScheduleKeyDeletion', 'kms:ScheduleDeletion', name, (key) => {
      notPendingDeletion(key);
      const at = new Date(this.now().getTime() + days * DAY_MS);
      return this.store.update(name, { state: 'pending-deletion', deletion_date: at });
    });
  }

  /** As AWS KMS: a key whose deletion is cancelled comes back disabled, to be enabled on purpose. */
  cancelKeyDeletion(caller: Caller, name: string): Promise<KeyMetadata> {
    return this.admin(caller, 'CancelKeyDeletion', 'kms:CancelDeletion', name, (key) => {
      if (key.state !== 'pending-deletion')
        throw new FlotillaError('FLT_CONFLICT', `key ${name} is not scheduled for deletion`);
      return this.store.update(name, { state: 'disabled', deletion_date: null });
    });
  }

  setMinDecryptionVersion(caller: Caller, name: string, version: number): Promise<KeyMetadata> {
    return this.admin(caller, 'SetMinDecryptionVersion', 'kms:SetMinDecryptionVersion', name, (key) => {
      if (version > key.currentVersion)
        throw new FlotillaError(
          'FLT_BAD_REQUEST',
          `key ${name} has no version ${version} (current: ${key.currentVersion})`,
        );
      return this.store.update(name, { min_decryption_version: version });
    });
  }

  generateDataKeys(caller: Caller, name: string, count: number, context: EncryptionContext = {}) {
    const operation = count === 1 ? 'GenerateDataKey' : 'GenerateDataKeys';
    return this.use(
      caller,
      operation,
      'kms:GenerateDataKey',
      name,
      context,
      async () => {
        const { key, material } = await this.current(name);
        const dataKeys = Array.from({ length: count }, () => {
          const plaintext = randomBytes(KEY_BYTES);
          return {
            plaintext: plaintext.toString('base64'),
            ciphertext: encryptUnder(material, name, key.currentVersion, plaintext, context),
          };
        });
        return {
          result: { key: name, keyVersion: key.currentVersion, dataKeys },
          version: key.currentVersion,
        };
      },
      count === 1 ? undefined : { count },
    );
  }

  encrypt(caller: Caller, name: string, plaintext: Buffer, context: EncryptionContext = {}) {
    return this.use(caller, 'Encrypt', 'kms:Encrypt', name, context, async () => {
      if (plaintext.length > 4096)
        throw new FlotillaError('FLT_VALIDATION', 'at most 4 KiB: encrypt larger data under a data key');
      const { key, material } = await this.current(name);
      const ciphertext = encryptUnder(material, name, key.currentVersion, plaintext, context);
      return {
        result: { ciphertext, key: name, keyVersion: key.currentVersion },
        version: key.currentVersion,
      };
    });
  }

  async decrypt(caller: Caller, ciphertext: string, context: EncryptionContext = {}) {
    const p = await this.parse(caller, 'Decrypt', ciphertext, context);
    return this.use(caller, 'Decrypt', 'kms:Decrypt', p.key, context, async () => {
      const plaintext = (await this.open(p, context)).toString('base64');
      return { result: { plaintext, key: p.key, keyVersion: p.version }, version: p.version };
    });
  }

  /** Vault's `rewrap`: the plaintext is opened and sealed again under the current version here, never returned. */
  async reEncrypt(caller: Caller, ciphertext: string, context: EncryptionContext = {}) {
    const p = await this.parse(caller, 'ReEncrypt', ciphertext, context);
    return this.use(
      caller,
      'ReEncrypt',
      'kms:ReEncrypt',
      p.key,
      context,
      async () => {
        const plaintext = await this.open(p, context);
        const { key, material } = await this.current(p.key);
        const rewrapped = encryptUnder(material, p.key, key.currentVersion, plaintext, context);
        plaintext.fill(0);
        return {
          result: { ciphertext: rewrapped, key: p.key, keyVersion: key.currentVersion },
          version: key.currentVersion,
        };
      },
      { fromVersion: p.version },
    );
  }

  async usageOf(caller: Caller, name: string, since: Date, limit: number): Promise<UsageRecord[]> {
    this.authz.require(caller, 'kms:ViewUsage', name);
    return this.usage.list(name, since, limit);
  }

  /** Parses a ciphertext; a malformed one is recorded under the key `-` and refused. */
  private async parse(
    caller: Caller,
    operation: string,
    text: string,
    context: EncryptionContext,
  ): Promise<ParsedCiphertext> {
    try {
      return parseCiphertext(text);
    } catch (err) {
      await this.usage.record({
        caller: caller.id,
        key: '-',
        keyVersion: null,
        operation,
        context,
        outcome: 'failure',
        reason: (err as FlotillaError).code,
      });
      throw recorded(err);
    }
  }

  private async open(p: ParsedCiphertext, context: EncryptionContext): Promise<Buffer> {
    const key = await this.store.require(p.key);
    usable(key);
    if (p.version < key.minDecryptionVersion)
      throw new FlotillaError(
        'FLT_KMS_KEY_VERSION_REFUSED',
        `key ${p.key} version ${p.version} is below the minimum decryption version ${key.minDecryptionVersion}: re-encrypt older data first`,
      );
    const material = await this.store.material(p.key, p.version);
    if (!material)
      throw new FlotillaError('FLT_KMS_CIPHERTEXT_INVALID', `key ${p.key} has no version ${p.version}`);
    return decryptWith(material, p, context);
  }

  private async current(name: string): Promise<{ key: KeyMetadata; material: Buffer }> {
    const key = await this.store.require(name);
    usable(key);
    const material = await this.store.material(name, key.currentVersion);
    if (!material) throw new FlotillaError('FLT_INTERNAL', `key ${name} lacks its current version`);
    return { key, material };
  }

  /** An administrative operation on an existing key. */
  private admin(
    caller: Caller,
    operation: string,
    action: KeyAction,
    name: string,
    run: (key: KeyMetadata) => Promise<KeyMetadata>,
  ): Promise<KeyMetadata> {
    return this.use(caller, operation, action, name, {}, async () => {
      const result = await run(await this.store.require(name));
      return { result, version: result.currentVersion };
    });
  }

  /** Decides, runs and records one use of a key: the one path every operation takes. */
  private async use<T>(
    caller: Caller,
    operation: string,
    action: KeyAction,
    key: string,
    context: EncryptionContext,
    run: () => Promise<Used<T>>,
    details?: Record<string, unknown>,
  ): Promise<T> {
    const base = { caller: caller.id, key, operation, context, ...(details ? { details } : {}) };
    if (!this.authz.allows(caller, action, key)) {
      await this.usage.record({ ...base, keyVersion: null, outcome: 'denied', reason: 'FLT_POLICY_DENIED' });
      throw recorded(
        new FlotillaError('FLT_POLICY_DENIED', `${caller.service} may not ${action} on key ${key}`),
      );
    }
    let used: Used<T>;
    try {
      used = await run();
    } catch (err) {
      const code = err instanceof FlotillaError ? err.code : 'FLT_INTERNAL';
      await this.usage.record({ ...base, keyVersion: null, outcome: 'failure', reason: code });
      throw recorded(err);
    }
    await this.usage.record({ ...base, keyVersion: used.version, outcome: 'success' });
    return used.result;
  }
}

function recorded(err: unknown): unknown {
  if (typeof err === 'object' && err !== null) recordedErrors.add(err);
  return err;
}

/** Disabled and pending-deletion keys are refused for every use (AWS KMS: DisabledException, KMSInvalidStateException). */
function usable(key: KeyMetadata): void {
  if (key.state === 'disabled')
    throw new FlotillaError('FLT_KMS_KEY_DISABLED', `key ${key.name} is disabled`);
  notPendingDeletion(key);
}

function notPendingDeletion(key: KeyMetadata): void {
  if (key.state === 'pending-deletion')
    throw new FlotillaError(
      'FLT_KMS_KEY_PENDING_DELETION',
      `key ${key.name} is scheduled for deletion on ${key.deletionDate ?? '?'}: cancel the deletion to use it`,
    );
}
