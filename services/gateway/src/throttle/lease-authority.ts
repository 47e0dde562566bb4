/**
 * The shared side of rate limits across gateway workers (processes on one host): one
 * fixed-window counter per limiter and key, handing out points in leases.
 *
 * A worker asks for a lease when it has no points left for a key; the authority grants
 * part of what remains in the window (never more than remains), so the workers together
 * never admit more than the limit. Most requests are answered by the worker from its
 * lease, with no message. When nothing remains, the authority first takes back the unused
 * points of the other workers' leases, so a caller whose connection sticks to one worker
 * still gets the whole limit.
 */
export interface LeaseRequest {
  /** `<policy>:<points>:<duration>`, the limiter's identity. */
  limiter: string;
  points: number;
  /** Window, seconds. */
  duration: number;
  key: string;
}

export interface LeaseGrant {
  /** Points the worker may spend until `resetAt`; 0 is a refusal. */
  granted: number;
  /** Points still with the authority after this grant (other workers' leases not counted). */
  remaining: number;
  /** End of the window, ms since the epoch. */
  resetAt: number;
}

/** Asks one worker to give back the unused points of its lease for this window. */
export type Reclaim = (worker: number, limiter: string, key: string, resetAt: number) => Promise<number>;

interface Window {
  used: number;
  resetAt: number;
  /** Workers holding a lease in this window, with the points granted to each. */
  holders: Map<number, number>;
  /** A take-back in progress: later requests wait for it instead of starting another. */
  reclaiming?: Promise<void>;
}

export class LeaseAuthority {
  readonly #windows = new Map<string, Window>();
  readonly #workers: () => number;
  readonly #reclaim: Reclaim;
  readonly #now: () => number;

  /** `workers` is how many workers share the limits now (leases are a fair share of what remains). */
  constructor(workers: () => number, reclaim: Reclaim, now: () => number = Date.now) {
    this.#workers = workers;
    this.#reclaim = reclaim;
    this.#now = now;
  }

  get size(): number {
    return this.#windows.size;
  }

  async lease(worker: number, req: LeaseRequest): Promise<LeaseGrant> {
    const id = `${req.limiter}|${req.key}`;
    let w = this.#window(id, req.duration);
    if (w.reclaiming) await w.reclaiming;
    w = this.#window(id, req.duration);
    if (req.points - w.used <= 0 && [...w.holders.keys()].some((h) => h !== worker)) {
      const window = w;
      window.reclaiming = this.#takeBack(window, worker, req).finally(() => delete window.reclaiming);
      await window.reclaiming;
      w = this.#window(id, req.duration);
    }
    const remaining = req.points - w.used;
    if (remaining <= 0) return { granted: 0, remaining: 0, resetAt: w.resetAt };
    // A fair share of what remains: large while plenty remains (few messages), one point
    // at a time near the limit (little left stranded in other workers' leases).
    const granted = Math.max(1, Math.floor(remaining / (2 * Math.max(1, this.#workers()))));
    w.used += granted;
    w.holders.set(worker, (w.holders.get(worker) ?? 0) + granted);
    return { granted, remaining: req.points - w.used, resetAt: w.resetAt };
  }

  /** A worker is gone: its leases are not counted on (their points stay spent until the window ends). */
  forget(worker: number): void {
    for (const w of this.#windows.values()) w.holders.delete(worker);
  }

  /** Drops ended windows; called periodically. */
  sweep(): void {
    const now = this.#now();
    for (const [id, w] of this.#windows) if (w.resetAt <= now && !w.reclaiming) this.#windows.delete(id);
  }

  #window(id: string, duration: number): Window {
    const now = this.#now();
    let w = this.#windows.get(id);
    if (!w || w.resetAt <= now) {
      w = { used: 0, resetAt: now + duration * 1000, holders: new Map() };
      this.#windows.set(id, w);
    }
    return w;
  }

  async #takeBack(w: Window, asking: number, req: LeaseRequest): Promise<void> {
    const others = [...w.holders].filter(([h]) => h !== asking);
    const returned = await Promise.all(
      others.map(([h, held]) =>
        this.#reclaim(h, req.limiter, req.key, w.resetAt).then(
          // A worker never gives back more than it was granted in this window.
          (n) => (Number.isInteger(n) && n > 0 ? Math.min(n, held) : 0),
          () => 0,
        ),
      ),
    );
    for (const [h] of others) w.holders.delete(h);
    w.used = Math.max(0, w.used - returned.reduce((a, b) => a + b, 0));
  }
}
