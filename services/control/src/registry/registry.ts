import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Instance } from '@flotilla/kit';

export interface RegisteredInstance extends Instance {
  registeredAt: string;
  lastHeartbeat: number;
  /** Heartbeats received since it registered (or since this control plane restored it). */
  heartbeats: number;
  /** Consecutive failed active health checks. */
  failedChecks: number;
}

export type RegistryEvent =
  { type: 'up'; instance: Instance } | { type: 'down'; id: string; service: string; reason: string };

export type LeaveReason = 'deregistered' | 'ttl' | 'health-check';

/**
 * The catalog of live instances. Every change is an event, which the watch stream
 * pushes to subscribers and the store snapshots. Ownership is by service identity:
 * only the service that registered an instance may heartbeat or remove it.
 */
export class Registry extends EventEmitter<{ change: [RegistryEvent] }> {
  private readonly instances = new Map<string, RegisteredInstance>();

  constructor(private readonly now: () => number = Date.now) {
    super();
    this.setMaxListeners(0);
  }

  register(input: Omit<Instance, 'id'>): RegisteredInstance {
    // One address:port belongs to one instance: a restarted instance replaces its old entry.
    for (const existing of this.instances.values()) {
      if (existing.address === input.address && existing.port === input.port)
        this.remove(existing.id, 'deregistered');
    }
    const instance: RegisteredInstance = {
      ...input,
      id: randomUUID(),
      registeredAt: new Date(this.now()).toISOString(),
      lastHeartbeat: this.now(),
      heartbeats: 0,
      failedChecks: 0,
    };
    this.instances.set(instance.id, instance);
    this.emit('change', { type: 'up', instance: publicView(instance) });
    return instance;
  }

  /** Restores an instance from a snapshot (control-plane restart), with a fresh heartbeat. */
  restore(instance: Instance & { registeredAt: string }): void {
    this.instances.set(instance.id, {
      ...instance,
      lastHeartbeat: this.now(),
      heartbeats: 0,
      failedChecks: 0,
    });
  }

  get(id: string): RegisteredInstance | undefined {
    return this.instances.get(id);
  }

  heartbeat(id: string): boolean {
    const instance = this.instances.get(id);
    if (!instance) return false;
    this.beat(instance);
    return true;
  }

  /** A heartbeat of an instance the caller already looked up (and checked the owner of). */
  beat(instance: RegisteredInstance): void {
    instance.lastHeartbeat = this.now();
    instance.heartbeats += 1;
  }

  remove(id: string, reason: LeaveReason): boolean {
    const instance = this.instances.get(id);
    if (!instance) return false;
    this.instances.delete(id);
    this.emit('change', { type: 'down', id, service: instance.service, reason });
    return true;
  }

  /** Removes instances whose heartbeats stopped; returns them. */
  expire(ttlMs: number): RegisteredInstance[] {
    // Runs every 250 ms over every instance: no copy of the map unless something expired.
    const cutoff = this.now() - ttlMs;
    let expired: RegisteredInstance[] | undefined;
    for (const instance of this.instances.values())
      if (instance.lastHeartbeat < cutoff) (expired ??= []).push(instance);
    for (const instance of expired ?? []) this.remove(instance.id, 'ttl');
    return expired ?? [];
  }

  all(): RegisteredInstance[] {
    return [...this.instances.values()];
  }

  snapshot(): Instance[] {
    return this.all().map(publicView);
  }
}

/**
 * Ready: its last active health check (`/readyz`) passed, or none has failed since it
 * registered (a kit registers only once ready). One failure makes it not ready; more
 * remove it (`REGISTRY_HEALTH_MAX_FAILURES`).
 */
export function isReady(instance: Pick<RegisteredInstance, 'failedChecks'>): boolean {
  return instance.failedChecks === 0;
}

export function publicView(i: RegisteredInstance | Instance): Instance {
  return {
    id: i.id,
    service: i.service,
    address: i.address,
    port: i.port,
    ...(i.version ? { version: i.version } : {}),
    ...(i.metadata ? { metadata: i.metadata } : {}),
  };
}
