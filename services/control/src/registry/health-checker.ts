import { type MtlsClient, originOf } from '@flotilla/kit';
import type { Logger } from 'pino';
import type { Registry } from './registry.js';

/**
 * Active health checks: the registry asks each instance's `/readyz` over mTLS —
 * expecting the instance's own SPIFFE ID — and removes an instance after
 * `maxFailures` failures in a row. An instance registered at an address that is not
 * really its own fails this check and leaves.
 */
export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly registry: Registry,
    private readonly client: MtlsClient,
    private readonly opts: { intervalMs: number; maxFailures: number },
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.round(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async round(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await Promise.all(this.registry.all().map((i) => this.check(i.id)));
    } finally {
      this.running = false;
    }
  }

  private async check(id: string): Promise<void> {
    const instance = this.registry.get(id);
    if (!instance) return;
    let ok = false;
    try {
      const res = await this.client.request(instance.service, originOf(instance), {
        path: '/readyz',
        timeoutMs: Math.min(2_000, this.opts.intervalMs),
      });
      await res.body.dump();
      ok = res.statusCode === 200;
    } catch {
      ok = false;
    }
    const current = this.registry.get(id);
    if (!current) return;
    current.failedChecks = ok ? 0 : current.failedChecks + 1;
    if (current.failedChecks >= this.opts.maxFailures) {
      this.log.warn(
        { instanceId: id, service: current.service },
        'instance failed its health checks; removed',
      );
      this.registry.remove(id, 'health-check');
    }
  }
}
