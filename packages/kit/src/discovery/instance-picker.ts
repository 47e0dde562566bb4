import type { Balancer } from './balancer.js';
import type { CallAccounting } from './call-accounting.js';
import type { Catalog } from './catalog.js';
import type { Instance } from './instance.js';

/**
 * The first two steps of every attempt: resolve the service in the catalog, then balance
 * over its healthy instances, preferring one this call has not tried yet.
 *
 * @example
 * const picker = new InstancePicker(catalog, createBalancer('p2c'), accounting);
 * const instance = picker.pick('metadata', undefined); // undefined: none known
 */
export class InstancePicker {
  constructor(
    private readonly catalog: Catalog,
    private readonly balancer: Balancer,
    private readonly accounting: CallAccounting,
  ) {}

  /** The instance to try next: healthy, not tried yet for this call, least busy of two. */
  pick(service: string, tried: ReadonlySet<string> | undefined): Instance | undefined {
    const all = this.catalog.instances(service);
    const fresh = tried?.size ? all.filter((i) => !tried.has(i.id)) : all;
    return this.balancer.pick(
      this.accounting.available(fresh.length > 0 ? fresh : all),
      this.accounting.load,
    );
  }
}
