import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FlotillaError } from '@flotilla/kit';
import type { Authority } from './authority.js';
import { CsrError } from './csr-check.js';
import type { IssuedLeaf } from './issue.js';
import { forgetOldIssuers, type IssuerMessage, type SignJob, type WorkerReply } from './signing-protocol.js';

/** What a worker needs to check a CSR and sign its leaf. */
export interface SignRequest {
  csrPem: string;
  service: string;
  trustDomain: string;
  ttlSeconds: number;
  publicUrl: string;
  now: Date;
  issuer: Authority;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, { resolve: (leaf: IssuedLeaf) => void; reject: (err: unknown) => void }>;
  issuers: Set<string>;
  answered: boolean;
}

const WORKER_ENTRY = new URL(
  `./signing-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
  import.meta.url,
);
// After this many workers that died before answering anything, the pool gives up and
// the CA signs on the main thread (same code, same checks).
const MAX_START_FAILURES = 3;

/**
 * Worker threads that check CSRs and sign leaves, so that the CPU-heavy part of issuing
 * runs beside the event loop (which keeps serving TLS, the database and the audit trail).
 * A worker that fails rejects the jobs it held (those requests fail, nothing is stored)
 * and is replaced on the next job.
 */
export class SigningPool {
  #slots: Slot[] = [];
  #nextId = 1;
  #closed = false;
  #startFailures = 0;

  constructor(
    readonly size: number,
    private readonly entry: URL = WORKER_ENTRY,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('size must be a positive integer');
  }

  /** False once workers keep dying at start (e.g. the worker file cannot load): sign inline. */
  get usable(): boolean {
    return !this.#closed && this.#startFailures < MAX_START_FAILURES;
  }

  /** Checks and signs in a worker; a refused CSR rejects with the same CsrError as inline. */
  sign(req: SignRequest): Promise<IssuedLeaf> {
    if (this.#closed) return Promise.reject(new FlotillaError('FLT_UNAVAILABLE', 'signing pool is closed'));
    const slot = this.#pick();
    const { issuer } = req;
    if (!slot.issuers.has(issuer.id)) {
      const msg: IssuerMessage = {
        type: 'issuer',
        id: issuer.id,
        certPem: issuer.pem,
        keyId: issuer.keyId,
        notAfter: issuer.notAfter.getTime(),
        key: issuer.signingKey,
      };
      slot.worker.postMessage(msg);
      slot.issuers.add(issuer.id);
      forgetOldIssuers(slot.issuers);
    }
    const id = this.#nextId++;
    const job: SignJob = {
      type: 'sign',
      id,
      csrPem: req.csrPem,
      service: req.service,
      trustDomain: req.trustDomain,
      issuerId: issuer.id,
      ttlSeconds: req.ttlSeconds,
      publicUrl: req.publicUrl,
      now: req.now.getTime(),
    };
    return new Promise<IssuedLeaf>((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject });
      slot.worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots;
    this.#slots = [];
    for (const slot of slots)
      this.#fail(slot, new FlotillaError('FLT_UNAVAILABLE', 'signing pool is closed'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  /** The least busy worker, starting one while there are fewer than `size`. */
  #pick(): Slot {
    let best: Slot | undefined;
    for (const slot of this.#slots) if (!best || slot.jobs.size < best.jobs.size) best = slot;
    if (best && (best.jobs.size === 0 || this.#slots.length >= this.size)) return best;
    return this.#spawn();
  }

  #spawn(): Slot {
    const worker = startWorker(this.entry);
    worker.unref(); // never what keeps the process alive
    const slot: Slot = { worker, jobs: new Map(), issuers: new Set(), answered: false };
    worker.on('message', (reply: WorkerReply) => {
      slot.answered = true;
      const job = slot.jobs.get(reply.id);
      if (!job) return;
      slot.jobs.delete(reply.id);
      if ('leaf' in reply) job.resolve({ ...reply.leaf, der: Buffer.from(reply.leaf.der) });
      else if ('refused' in reply) job.reject(new CsrError(reply.refused.reason, reply.refused.message));
      else job.reject(new FlotillaError('FLT_INTERNAL', `signing failed: ${reply.failed}`));
    });
    worker.on('error', (err) => this.#fail(slot, err));
    worker.on('exit', (code) =>
      this.#fail(slot, new FlotillaError('FLT_INTERNAL', `signing worker exited with code ${code}`)),
    );
    this.#slots.push(slot);
    return slot;
  }

  #fail(slot: Slot, err: unknown): void {
    const i = this.#slots.indexOf(slot);
    if (i >= 0) {
      this.#slots.splice(i, 1);
      if (!slot.answered) this.#startFailures += 1;
      void slot.worker.terminate();
    }
    const cause = err instanceof Error ? err.message : String(err);
    for (const job of slot.jobs.values())
      job.reject(new FlotillaError('FLT_INTERNAL', `signing worker failed: ${cause}`, { cause: err }));
    slot.jobs.clear();
  }
}

/**
 * Starts a worker on `entry`. Flotilla runs its TypeScript through tsx (`node --import
 * tsx`); a worker thread does not inherit those hooks for its entry module, so a `.ts`
 * entry is loaded by a small ES module that registers tsx in the worker first.
 */
function startWorker(entry: URL): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry);
  const require = createRequire(import.meta.url);
  const tsxApi = pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const boot = `import { register } from ${JSON.stringify(tsxApi)};\nregister();\nawait import(${JSON.stringify(entry.href)});\n`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`));
}
