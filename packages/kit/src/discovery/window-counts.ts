/**
 * Counts of events of a few kinds over the last `windowMs`, kept in `slots` time buckets:
 * constant memory and constant work per event at any request rate (a list of timestamps
 * filtered per request grows with the rate). The window moves a bucket at a time, so an
 * event leaves it between `windowMs − windowMs / slots` and `windowMs` after it happened.
 */
export class WindowCounts {
  readonly #slotMs: number;
  readonly #slots: number;
  /** Each bucket's slot number (time / slotMs); -1 for a bucket not used yet. */
  readonly #slotOf: Float64Array;
  /** Per kind, each bucket's count. */
  readonly #counts: Float64Array[];

  constructor(windowMs: number, kinds = 1, slots = 10) {
    this.#slots = slots;
    this.#slotMs = windowMs / slots;
    this.#slotOf = new Float64Array(slots).fill(-1);
    this.#counts = Array.from({ length: kinds }, () => new Float64Array(slots));
  }

  add(kind: number, now: number): void {
    this.#counts[kind]![this.#bucket(now)]! += 1;
  }

  /** Events of `kind` in the window that ends at `now`. */
  count(kind: number, now: number): number {
    const oldest = Math.floor(now / this.#slotMs) - this.#slots;
    const counts = this.#counts[kind]!;
    let n = 0;
    for (let i = 0; i < this.#slots; i++) if (this.#slotOf[i]! > oldest) n += counts[i]!;
    return n;
  }

  clear(): void {
    this.#slotOf.fill(-1);
    for (const counts of this.#counts) counts.fill(0);
  }

  /** The bucket for `now`, emptied first if it last held an older slot. */
  #bucket(now: number): number {
    const slot = Math.floor(now / this.#slotMs);
    const i = slot % this.#slots;
    if (this.#slotOf[i] !== slot) {
      this.#slotOf[i] = slot;
      for (const counts of this.#counts) counts[i] = 0;
    }
    return i;
  }
}
