import { createParser } from 'eventsource-parser';
import type { Logger } from 'pino';
import { CONTROL_ROUTES } from '../contracts/control-api/routes.js';
import type { MtlsClient } from '../identity/mtls-client.js';
import type { IdentitySource } from '../identity/tls-material.js';
import type { Instance } from './instance.js';

/**
 * The local view of the registry: a snapshot, then changes pushed over a watch
 * stream (Server-Sent Events over mTLS). When the registry is unreachable the last
 * known instances stay in use and the watch reconnects with back-off.
 */
export class Catalog {
  private readonly services = new Map<string, Map<string, Instance>>();
  /** Each service's instances as a list, made once per change (callers are per request). */
  private readonly lists = new Map<string, readonly Instance[]>();
  private readonly listeners = new Set<(service: string) => void>();
  private abort: AbortController | undefined;
  private stopped = false;
  private synced = false;
  private failures = 0;
  private readonly offChange: () => void;

  constructor(
    private readonly client: MtlsClient,
    private readonly controlUrl: string,
    identity: IdentitySource,
    private readonly log: Logger,
  ) {
    // A new certificate or bundle: reconnect the watch with it.
    this.offChange = identity.onChange(() => this.abort?.abort());
  }

  start(): void {
    void this.watchLoop();
  }

  /** Healthy instances of a service as last heard from the registry. */
  instances(service: string): readonly Instance[] {
    let list = this.lists.get(service);
    if (!list) {
      list = Object.freeze([...(this.services.get(service)?.values() ?? [])]);
      this.lists.set(service, list);
    }
    return list;
  }

  /** Whether the first snapshot has arrived. */
  get isSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first snapshot has arrived (or after `timeoutMs`). */
  async ready(timeoutMs = 5_000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (!this.synced && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return this.synced;
  }

  onUpdate(listener: (service: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.stopped = true;
    this.offChange();
    this.abort?.abort();
  }

  private async watchLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.watchOnce();
        this.failures = 0;
      } catch (err) {
        if (this.stopped) return;
        this.failures += 1;
        if (this.failures === 1 || this.failures % 10 === 0) {
          this.log.warn(
            { err: (err as Error).message },
            'registry watch lost; using the last known instances',
          );
        }
      }
      if (!this.stopped)
        await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** Math.min(this.failures, 5))));
    }
  }

  private async watchOnce(): Promise<void> {
    this.abort = new AbortController();
    const res = await this.client.request('control', this.controlUrl, {
      path: CONTROL_ROUTES.watch.path,
      headers: { accept: 'text/event-stream' },
      timeoutMs: 20_000, // the registry sends a keep-alive comment every few seconds
      signal: this.abort.signal,
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`registry watch answered ${res.statusCode}`);
    }
    const parser = createParser({ onEvent: (e) => this.apply(e.event, e.data) });
    for await (const chunk of res.body) parser.feed((chunk as Buffer).toString('utf8'));
    throw new Error('registry watch stream ended');
  }

  private apply(event: string | undefined, data: string): void {
    if (event === 'snapshot') {
      const { instances } = JSON.parse(data) as { instances: Instance[] };
      const touched = new Set([...this.services.keys(), ...instances.map((i) => i.service)]);
      this.services.clear();
      for (const instance of instances) this.put(instance);
      this.synced = true;
      for (const service of touched) this.emit(service);
    } else if (event === 'up') {
      const instance = JSON.parse(data) as Instance;
      this.put(instance);
      this.emit(instance.service);
    } else if (event === 'down') {
      const { id, service } = JSON.parse(data) as { id: string; service: string };
      this.services.get(service)?.delete(id);
      this.emit(service);
    }
  }

  private put(instance: Instance): void {
    let byId = this.services.get(instance.service);
    if (!byId) {
      byId = new Map();
      this.services.set(instance.service, byId);
    }
    byId.set(instance.id, instance);
  }

  private emit(service: string): void {
    this.lists.delete(service);
    for (const listener of this.listeners) listener(service);
  }
}
