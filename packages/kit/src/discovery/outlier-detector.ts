export interface OutlierOptions {
  /** Consecutive failures that eject an instance (default 3). */
  consecutiveFailures?: number;
  /** First ejection time; doubles with each further ejection of the same instance (default 1 s). */
  baseEjectionMs?: number;
  maxEjectionMs?: number;
  /** Never eject more than this share of a service's instances (default 0.5). */
  maxEjectedShare?: number;
}

interface InstanceHealth {
  failures: number;
  ejections: number;
  ejectedUntil: number;
}

/**
 * Passive health: an instance that keeps failing is taken out of rotation for a
 * while, longer each time it happens again (as Envoy's outlier detection does).
 */
export class OutlierDetector {
  private readonly health = new Map<string, InstanceHealth>();
  private readonly threshold: number;
  private readonly base: number;
  private readonly max: number;
  private readonly maxShare: number;

  constructor(
    opts: OutlierOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.threshold = opts.consecutiveFailures ?? 3;
    this.base = opts.baseEjectionMs ?? 1_000;
    this.max = opts.maxEjectionMs ?? 30_000;
    this.maxShare = opts.maxEjectedShare ?? 0.5;
  }

  isEjected(id: string, now = this.now()): boolean {
    return (this.health.get(id)?.ejectedUntil ?? 0) > now;
  }

  /** The instances to balance over: the not-ejected ones (all of them if none is left). */
  available<T extends { id: string }>(instances: readonly T[]): T[] {
    if (this.health.size === 0) return instances as T[];
    const now = this.now(); // one clock read per call, not one per instance
    const live = instances.filter((i) => !this.isEjected(i.id, now));
    return live.length > 0 ? live : [...instances];
  }

  success(id: string): void {
    const h = this.health.get(id);
    if (!h) return;
    h.failures = 0;
    if (h.ejectedUntil <= this.now()) h.ejections = Math.max(0, h.ejections - 1);
  }

  /** Records a failure; `peers` is the service's instance count, for the ejection cap. */
  failure(id: string, peers: readonly { id: string }[]): void {
    const h = this.health.get(id) ?? { failures: 0, ejections: 0, ejectedUntil: 0 };
    this.health.set(id, h);
    h.failures += 1;
    if (h.failures < this.threshold || this.isEjected(id)) return;
    const ejected = peers.filter((p) => this.isEjected(p.id)).length;
    if (peers.length > 1 && (ejected + 1) / peers.length > this.maxShare) return;
    h.ejectedUntil = this.now() + Math.min(this.max, this.base * 2 ** h.ejections);
    h.ejections += 1;
    h.failures = 0;
  }

  forget(id: string): void {
    this.health.delete(id);
  }
}
