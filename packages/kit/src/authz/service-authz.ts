import { type FSWatcher, watch } from 'node:fs';
import {
  type AllowList,
  allowListToPolicies,
  Authorizer,
  type Decision,
  type DecisionLogEntry,
  type PolicySources,
  readPolicySources,
  serviceCallRequest,
} from '@flotilla/policy';

export interface ServiceAuthzOptions {
  /** The service being called (this one). */
  service: string;
  trustDomain: string;
  /** The fleet's policy directory (schema + `*.cedar`). */
  dir: string;
  /** Declared calls of every service, turned into permits next to the policy files. */
  allowedCalls: AllowList;
  onDecision: (entry: DecisionLogEntry) => void;
  onReloadError: (err: unknown) => void;
}

const ALLOW_LIST_FILE = 'declared-calls.cedar';

/**
 * Service-to-service authorization: may `Service::"history"` perform `http:GET` on
 * `Endpoint::"metadata GET /videos/:id"`? Default deny, any error denies, and the
 * policy files hot-reload (a set that fails validation never replaces a good one).
 */
export class ServiceAuthz {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly engine: Authorizer,
    private readonly opts: ServiceAuthzOptions,
  ) {}

  static async load(opts: ServiceAuthzOptions): Promise<ServiceAuthz> {
    const engine = new Authorizer(await sources(opts), { onDecision: opts.onDecision });
    return new ServiceAuthz(engine, opts);
  }

  /** Decides an inbound call; `routePattern` is the matched route, not the concrete path. */
  check(callerService: string, method: string, routePattern: string): Decision {
    try {
      return this.engine.decide(
        serviceCallRequest({
          callerService,
          targetService: this.opts.service,
          method: method === 'HEAD' ? 'GET' : method,
          routePattern,
          trustDomain: this.opts.trustDomain,
        }),
      );
    } catch (err) {
      return { decision: 'deny', reasons: [], errors: [err instanceof Error ? err.message : String(err)] };
    }
  }

  /** Reloads within a moment of a change to the policy directory. */
  watch(): void {
    this.watcher = watch(this.opts.dir, () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.reload(), 200);
    });
    this.watcher.unref();
  }

  async reload(): Promise<void> {
    try {
      this.engine.reload(await sources(this.opts));
    } catch (err) {
      this.opts.onReloadError(err);
    }
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
  }
}

async function sources(opts: ServiceAuthzOptions): Promise<PolicySources> {
  const read = await readPolicySources({ dir: opts.dir });
  return { ...read, files: { ...read.files, [ALLOW_LIST_FILE]: allowListToPolicies(opts.allowedCalls) } };
}
