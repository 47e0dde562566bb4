import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { type Db, FlotillaError, type ServiceContext } from '@flotilla/kit';
import {
  compilePolicies,
  createBundle,
  formatIssue,
  PolicyError,
  type PolicySources,
  readPolicySources,
} from '@flotilla/policy';
import type { PolicySigningKey } from './signing-key.js';

/** The bundle being served: the JWS bytes and its version (also its ETag). */
export interface SignedPolicyBundle {
  version: number;
  bytes: Uint8Array;
}

export interface PolicyBundlePublisherOptions {
  db: Db;
  dir: string;
  /** The key that signs: read at each signing, so a rotation takes effect at the next bundle. */
  key: () => PolicySigningKey;
  log: ServiceContext['log'];
  /** Quiet time after the last change before re-signing (default 200 ms). */
  debounceMs?: number;
}

/**
 * Reads the policy directory, validates it and signs it as a bundle; re-signs with the
 * next version whenever a change validates. A change that does not validate is logged
 * with its `file:line` and the previous bundle keeps being served. The last version is
 * kept in the database, so versions only ever grow, across restarts too.
 */
export class PolicyBundlePublisher {
  private bundle: SignedPolicyBundle | undefined;
  /** The sources of the bundle in force. */
  private sources: PolicySources | undefined;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  /** Long polls waiting for a bundle newer than the one they hold. */
  private readonly waiters = new Set<() => void>();

  constructor(private readonly opts: PolicyBundlePublisherOptions) {}

  /** Signs the first bundle; throws (refusing to start) when the directory does not validate. */
  async start(): Promise<void> {
    await this.publish();
    this.watcher = watch(this.opts.dir, () => this.schedule());
    this.watcher.on('error', (err) => this.opts.log.warn({ err }, 'policy directory watch failed'));
    this.watcher.unref();
  }

  current(): SignedPolicyBundle | undefined {
    return this.bundle;
  }

  /** Re-reads the directory now; resolves once any resulting bundle is signed (or refused). */
  reload(): Promise<void> {
    return this.enqueue(false);
  }

  /**
   * Signs the policies again as a new version, unchanged or not: after a key rotation, so
   * that services move to a bundle signed by the new key before the old one is retired.
   */
  async resign(): Promise<SignedPolicyBundle> {
    await this.enqueue(true);
    const bundle = this.bundle;
    if (!bundle) throw new FlotillaError('FLT_POLICY_INVALID', 'no policy bundle could be signed');
    return bundle;
  }

  private enqueue(force: boolean): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (this.closed) return;
      try {
        // A forced re-signature signs what is in force, whatever the directory holds now.
        if (force && this.sources) await this.sign(this.sources, true);
        else await this.publish();
      } catch (err) {
        this.opts.log.error(
          { errors: describe(err), version: this.bundle?.version },
          'policy change refused; still serving the previous bundle',
        );
      }
    });
    return this.chain;
  }

  /**
   * Resolves when a bundle newer than `version` is signed, after `ms`, or at `release()`
   * (shutdown), whichever comes first.
   */
  waitForNewer(version: number, ms: number): Promise<void> {
    if ((this.bundle?.version ?? 0) > version || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  /** Answers every waiting long poll now (the server is closing). */
  release(): void {
    for (const done of [...this.waiters]) done();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.watcher?.close();
    this.release();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload(), this.opts.debounceMs ?? 200);
    this.timer.unref();
  }

  private async publish(): Promise<void> {
    const sources = await readPolicySources({ dir: this.opts.dir });
    compilePolicies(sources); // throws with file:line before anything is stored
    await this.sign(sources, false);
  }

  private async sign(sources: PolicySources, force: boolean): Promise<void> {
    const hash = contentHash(sources);
    const version = await this.nextVersion(hash, force);
    if (this.bundle?.version === version) return; // nothing changed
    const key = this.opts.key();
    const bytes = await createBundle(
      { policies: sources.files, schema: sources.schema, version },
      key.privateKey,
      { kid: key.kid },
    );
    this.bundle = { version, bytes };
    this.sources = sources;
    this.release();
    this.opts.log.info(
      { version, files: Object.keys(sources.files).length, kid: key.kid },
      'policy bundle signed',
    );
  }

  /**
   * The stored version when the content is unchanged (and no new signature is forced),
   * else the stored version + 1 (atomically).
   */
  private async nextVersion(hash: string, force: boolean): Promise<number> {
    return this.opts.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ version: string | number; content_hash: string }>(
        'SELECT version, content_hash FROM policy_bundle_state WHERE id = 1 FOR UPDATE',
      );
      const row = rows[0];
      if (!row) {
        await tx.query('INSERT INTO policy_bundle_state (id, version, content_hash) VALUES (1, 1, $1)', [
          hash,
        ]);
        return 1;
      }
      const stored = Number(row.version);
      if (row.content_hash === hash && !force) return stored;
      await tx.query('UPDATE policy_bundle_state SET version = $1, content_hash = $2 WHERE id = 1', [
        stored + 1,
        hash,
      ]);
      return stored + 1;
    });
  }
}

function contentHash(sources: PolicySources): string {
  const files = Object.keys(sources.files)
    .sort()
    .map((name) => [name, sources.files[name]]);
  return createHash('sha256')
    .update(JSON.stringify({ schema: sources.schema, files }))
    .digest('hex');
}

/** `file:line:column: message` for each problem, or the error's message. */
function describe(err: unknown): string[] {
  if (err instanceof PolicyError && err.issues.length) return err.issues.map(formatIssue);
  return [err instanceof Error ? err.message : String(err)];
}
