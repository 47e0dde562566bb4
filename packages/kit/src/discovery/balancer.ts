import type { Instance } from './instance.js';

export type BalancerKind = 'p2c' | 'round-robin';

/** Picks an instance among the candidates; `inFlight` is what each one is busy with now. */
export interface Balancer {
  pick(candidates: readonly Instance[], inFlight: (id: string) => number): Instance | undefined;
}

export class RoundRobin implements Balancer {
  private next = 0;
  pick(candidates: readonly Instance[]): Instance | undefined {
    if (candidates.length === 0) return undefined;
    this.next = (this.next + 1) % candidates.length;
    return candidates[this.next];
  }
}

/**
 * Power of two choices, least request: two instances at random, the less busy wins.
 * Nearly as good as scanning all instances for the least loaded, at O(1), and it
 * avoids the herd that "always the least loaded" sends to a fresh instance.
 */
export class PowerOfTwoChoices implements Balancer {
  constructor(private readonly random: () => number = Math.random) {}
  pick(candidates: readonly Instance[], inFlight: (id: string) => number): Instance | undefined {
    const n = candidates.length;
    if (n <= 1) return candidates[0];
    const a = Math.floor(this.random() * n);
    let b = Math.floor(this.random() * (n - 1));
    if (b >= a) b += 1;
    const first = candidates[a]!;
    const second = candidates[b]!;
    return inFlight(second.id) < inFlight(first.id) ? second : first;
  }
}

export function createBalancer(kind: BalancerKind): Balancer {
  return kind === 'round-robin' ? new RoundRobin() : new PowerOfTwoChoices();
}
