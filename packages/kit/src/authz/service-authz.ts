import { type FSWatcher, watch } from 'node:fs';
import type { JsonWebKey } from 'node:crypto';
import {
  type AllowList,
  allowListToPolicies,
  Authorizer,
  type CompiledPolicies,
  compilePolicies,
  type Decision,
  type DecisionLogEntry,
  type DecisionRequest,
  PolicyError,
  type PolicySources,
  readPolicySources,
  serviceCallRequest,
  openBundle,
} from '@flotilla/policy';
import type { PolicyBundleResponse } from '../contracts/control-api/workload-client.js';

/** Where a service with a control plane gets its policies: the signed bundle. */
export interface PolicyBundleSource {
  /**
   * `GET /v1/policy/bundle`, conditional on the ETag last applied; with `waitSeconds`, a
   * long poll (answered when a newer bundle is signed, or after that many seconds).
   */
  fetch(etag?: string, waitSeconds?: number, signal?: AbortSignal): Promise<PolicyBundleResponse>;
  /** The keys trusted to sign bundles (`/v1/bundle`'s `policyKeys`, fetched over mTLS). */
  keys(): Promise<JsonWebKey[]>;
  /** The least time between two polls (ms): the pace when answers come at once (errors, no long polls). */
  pollMs: number;
  /** How long the control plane may hold a poll (s); 0 for plain polling. */
  longPollSeconds?: number;
}

export interface ServiceAuthzOptions {
  /** The service being called (this one). */
  service: string;
  trustDomain: string;
  /** The fleet's policy directory (schema + `*.cedar`): the source without a control plane, the fallback with one. */
  dir: string;
  /** Declared calls of every service, turned into permits next to the policy files (or the bundle's). */
  allowedCalls: AllowList;
  /** With a control plane: take the policies from its signed bundle instead of `dir`. */
  bundle?: PolicyBundleSource;
  onDecision: (entry: DecisionLogEntry) => void;
  onReloadError: (err: unknown) => void;
  /** A bundle was applied (first or newer). */
  onBundle?: (version: number) => void;
  /** Policies came from `dir` although a bundle source was given (none signed, or unreachable). */
  onFallback?: (reason: string) => void;
}

const ALLOW_LIST_FILE = 'declared-calls.cedar';

const MAX_REMEMBERED_ALLOWS = 10_000;

/**
 * Service-to-service authorization: may `Service::"history"` perform `http:GET` on
 * `Endpoint::"metadata GET /videos/:id"`? Default deny, any error denies. The policies
 * come from the control plane's signed bundle (polled with If-None-Match) or, without a
 * control plane, from the policy directory (watched). Either way a set that fails
 * validation — or a bundle whose signature fails or that is not newer — never replaces
 * the good one.
 */
export class ServiceAuthz {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private etag: string | undefined;
  private closed = false;
  /** Ends a held poll at `close()`, so that it never delays a shutdown. */
  private readonly abort = new AbortController();
  private unreachable = false;
  private polling: Promise<void> | undefined;
  /** Allowed inbound calls by `caller method route`, under the engine state `allowsEpoch`. */
  private readonly allows = new Map<string, Decision>();
  private allowsEpoch = -1;

  private constructor(
    private readonly engine: Authorizer,
    private readonly opts: ServiceAuthzOptions,
  ) {}

  static async load(opts: ServiceAuthzOptions): Promise<ServiceAuthz> {
    if (opts.bundle) {
      const first = await firstBundle(opts, opts.bundle);
      if (first) {
        const engine = new Authorizer(first.compiled, {
          onDecision: opts.onDecision,
          bundleVersion: first.version,
        });
        const authz = new ServiceAuthz(engine, opts);
        authz.etag = first.etag;
        opts.onBundle?.(first.version);
        return authz;
      }
    }
    const engine = new Authorizer(withDeclaredCalls(await readPolicySources({ dir: opts.dir }), opts), {
      onDecision: opts.onDecision,
    });
    return new ServiceAuthz(engine, opts);
  }

  /** The engine's policy set version: it changes with every set applied (bundle or directory). */
  get version(): number {
    return this.engine.version;
  }

  /** The version of the signed bundle in force (0 while the policies come from the directory). */
  get bundleVersion(): number {
    return this.engine.bundleVersion;
  }

  /**
   * Decides an inbound call; `routePattern` is the matched route, not the concrete path.
   * An allow is remembered for its caller, method and route until the policy set or the
   * engine's entities change: every call a service answers is checked, and the engine's
   * own cache still builds a key from the whole request (entities included) each time.
   * Denials always go to the engine, which logs each one.
   */
  check(callerService: string, method: string, routePattern: string): Decision {
    const m = method === 'HEAD' ? 'GET' : method;
    const epoch = this.engine.version * 0x100000000 + this.engine.entities.version;
    if (epoch !== this.allowsEpoch) {
      this.allows.clear();
      this.allowsEpoch = epoch;
    }
    const key = `${callerService} ${m} ${routePattern}`;
    const remembered = this.allows.get(key);
    if (remembered) return remembered;
    const decision = this.decide(
      serviceCallRequest({
        callerService,
        targetService: this.opts.service,
        method: m,
        routePattern,
        trustDomain: this.opts.trustDomain,
      }),
    );
    if (decision.decision === 'allow' && decision.errors.length === 0) {
      // Callers hold fleet certificates and routes are this service's patterns: few keys.
      if (this.allows.size >= MAX_REMEMBERED_ALLOWS) this.allows.clear();
      this.allows.set(key, decision);
    }
    return decision;
  }

  /**
   * Any decision under the policies in force here (the signed bundle, or the directory):
   * the service's own user-level checks go through this too, so that one hot-reloaded
   * set governs both. Any error denies.
   */
  decide(request: DecisionRequest): Decision {
    try {
      return this.engine.decide(request);
    } catch (err) {
      return { decision: 'deny', reasons: [], errors: [err instanceof Error ? err.message : String(err)] };
    }
  }

  /**
   * Keeps the policies current: polls the bundle when there is a control plane, else
   * reloads within a moment of a change to the policy directory.
   */
  watch(): void {
    if (this.opts.bundle) {
      this.schedulePoll(this.opts.bundle.pollMs);
      return;
    }
    this.watcher = watch(this.opts.dir, () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.reload(), 200);
    });
    this.watcher.unref();
  }

  /** Reloads from the policy directory (directory mode). */
  async reload(): Promise<void> {
    try {
      this.engine.reload(withDeclaredCalls(await readPolicySources({ dir: this.opts.dir }), this.opts));
    } catch (err) {
      this.opts.onReloadError(err);
    }
  }

  /**
   * Verifies a signed bundle against the trusted keys and makes it the policy set, with
   * the declared calls on top — only if its signature verifies, it validates, and it is
   * newer than the bundle in force (the checks of `applyBundle`). Throws a `PolicyError`
   * otherwise; the current set stays in force.
   */
  async applyBundle(bytes: Uint8Array | string, keys: readonly JsonWebKey[]): Promise<number> {
    const { version, compiled } = await verifyWithDeclaredCalls(bytes, keys, this.opts);
    // Checked after the awaits, right before the swap, so two bundles racing cannot both win.
    if (version <= this.engine.bundleVersion) {
      throw new PolicyError(
        'FLT_POLICY_BUNDLE_REPLAY',
        `bundle version ${version} is not newer than version ${this.engine.bundleVersion} in force`,
      );
    }
    this.engine.reload(compiled, { bundleVersion: version });
    return version;
  }

  /** One poll of the control plane (also run by the timer); never throws. */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  close(): void {
    this.closed = true;
    this.abort.abort();
    clearTimeout(this.timer);
    this.watcher?.close();
  }

  private schedulePoll(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      const started = Date.now();
      // After a long poll, ask again at once; after a quick answer, keep to the pace.
      void this.poll().finally(() =>
        this.schedulePoll(Math.max(0, this.opts.bundle!.pollMs - (Date.now() - started))),
      );
    }, delayMs);
    this.timer.unref();
  }

  private async pollOnce(): Promise<void> {
    const source = this.opts.bundle;
    if (!source || this.closed) return;
    let fetched: PolicyBundleResponse;
    let keys: JsonWebKey[];
    try {
      fetched = await source.fetch(this.etag, source.longPollSeconds, this.abort.signal);
      this.unreachable = false;
      if (fetched.status !== 'ok' || this.closed) return;
      keys = await source.keys();
    } catch (err) {
      // Control plane away: keep the policies we have (fail static), try again next time;
      // said once per outage, not on every poll.
      if (this.closed) return; // our own abort at close
      if (!this.unreachable) this.opts.onReloadError(err);
      this.unreachable = true;
      return;
    }
    try {
      const version = await this.applyBundle(fetched.bytes, keys);
      this.opts.onBundle?.(version);
    } catch (err) {
      this.opts.onReloadError(err);
    }
    // Applied or refused, this ETag has been judged: don't fetch the same bytes again.
    this.etag = fetched.etag;
  }
}

async function firstBundle(
  opts: ServiceAuthzOptions,
  source: PolicyBundleSource,
): Promise<{ version: number; compiled: CompiledPolicies; etag: string | undefined } | undefined> {
  try {
    const fetched = await source.fetch();
    if (fetched.status !== 'ok') {
      opts.onFallback?.('the control plane has no policy bundle');
      return undefined;
    }
    const verified = await verifyWithDeclaredCalls(fetched.bytes, await source.keys(), opts);
    return { ...verified, etag: fetched.etag };
  } catch (err) {
    opts.onFallback?.(err instanceof Error ? err.message : String(err));
    return undefined;
  }
}

async function verifyWithDeclaredCalls(
  bytes: Uint8Array | string,
  keys: readonly JsonWebKey[],
  opts: Pick<ServiceAuthzOptions, 'allowedCalls'>,
): Promise<{ version: number; compiled: CompiledPolicies }> {
  // One validation of the bundle's policies and the declared calls together.
  const bundle = await openBundle(bytes, keys);
  const sources = { schema: bundle.content.schema, files: bundle.content.policies };
  return { version: bundle.version, compiled: compilePolicies(withDeclaredCalls(sources, opts)) };
}

function withDeclaredCalls(
  sources: Readonly<PolicySources>,
  opts: Pick<ServiceAuthzOptions, 'allowedCalls'>,
): PolicySources {
  return {
    ...sources,
    files: { ...sources.files, [ALLOW_LIST_FILE]: allowListToPolicies(opts.allowedCalls) },
  };
}
