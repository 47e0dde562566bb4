import type { Logger } from 'pino';
import { CONTROL_ROUTES, instancePath } from '../contracts/control-api/routes.js';
import type { MtlsClient } from '../identity/mtls-client.js';
import { streamHeartbeats } from './heartbeat-stream.js';

export interface RegistrationOptions {
  address: string;
  port: number;
  version?: string;
  metadata?: Record<string, string>;
  /** Asked before registering: register only once the service is ready. */
  ready: () => Promise<boolean>;
}

/**
 * Keeps this instance in the registry: registers once ready, heartbeats, registers
 * again if the registry forgot it (e.g. it restarted), and deregisters first thing
 * at shutdown so callers stop choosing it before it drains.
 *
 * Heartbeats go as a stream when the registry offers one (`heartbeatStreamSeconds` in its
 * answer to the registration): one request carries a heartbeat every interval for that
 * long, so the registry answers once per stream instead of once per heartbeat. Otherwise,
 * one request per heartbeat.
 */
export class Registration {
  private id: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private intervalMs = 1_000;
  private streamSeconds = 0;
  private stopped = false;
  private readonly stopping = new AbortController();

  constructor(
    private readonly client: MtlsClient,
    private readonly controlUrl: string,
    private readonly opts: RegistrationOptions,
    private readonly log: Logger,
  ) {}

  get instanceId(): string | undefined {
    return this.id;
  }

  start(): void {
    void this.tick();
  }

  async deregister(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopping.abort();
    if (!this.id) return;
    const id = this.id;
    this.id = undefined;
    try {
      const res = await this.call('DELETE', instancePath(CONTROL_ROUTES.deregister, id));
      await res.body.dump();
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message },
        'deregistration failed; the registry will expire this instance',
      );
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let delayMs: number | undefined;
    try {
      if (!this.id) await this.register();
      else if (this.streamSeconds) delayMs = await this.heartbeatStream(this.id);
      else await this.heartbeat();
    } catch (err) {
      if (!this.stopped) this.log.warn({ err: (err as Error).message }, 'registry unreachable; will retry');
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.tick(), delayMs ?? (this.id ? this.intervalMs : 500));
      this.timer.unref();
    }
  }

  private async register(): Promise<void> {
    if (!(await this.opts.ready())) return;
    const { address, port, version, metadata } = this.opts;
    const res = await this.call(
      'POST',
      CONTROL_ROUTES.register.path,
      JSON.stringify({ address, port, version, metadata }),
    );
    const body = (await res.body.json()) as {
      id?: string;
      heartbeatSeconds?: number;
      heartbeatStreamSeconds?: number;
      detail?: string;
    };
    if (res.statusCode !== 201 || !body.id)
      throw new Error(`registration refused: ${res.statusCode} ${body.detail ?? ''}`);
    if (this.stopped) return;
    this.id = body.id;
    this.intervalMs = (body.heartbeatSeconds ?? 1) * 1000;
    this.streamSeconds = body.heartbeatStreamSeconds ?? 0;
    this.log.info({ instanceId: body.id }, 'registered');
  }

  private async heartbeat(): Promise<void> {
    const res = await this.call('PUT', instancePath(CONTROL_ROUTES.heartbeat, String(this.id)));
    await res.body.dump();
    if (res.statusCode === 404) {
      this.log.info('registry forgot this instance; registering again');
      this.id = undefined;
      await this.register();
    } else if (res.statusCode >= 300) throw new Error(`heartbeat answered ${res.statusCode}`);
  }

  /** One heartbeat stream; returns how long to wait before the next (the next beat is due at its end). */
  private async heartbeatStream(id: string): Promise<number> {
    const beats = Math.max(1, Math.floor((this.streamSeconds * 1000) / this.intervalMs));
    const started = Date.now();
    const status = await streamHeartbeats(this.client, this.controlUrl, id, {
      beats,
      intervalMs: this.intervalMs,
      signal: this.stopping.signal,
    });
    if (status === 404) {
      this.log.info('registry forgot this instance; registering again');
      this.id = undefined;
      await this.register();
      return this.intervalMs;
    }
    if (status >= 300) throw new Error(`heartbeat stream answered ${status}`);
    // Ended early (a registry that answers at once)? Wait for the next beat all the same.
    return Math.max(0, started + beats * this.intervalMs - Date.now());
  }

  private call(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: string) {
    return this.client.request('control', this.controlUrl, {
      method,
      path,
      timeoutMs: 3_000,
      ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}),
    });
  }
}
