import type { Readable } from 'node:stream';
import type { PeerCertificate } from 'node:tls';
import { Agent, type Dispatcher, request } from 'undici';
import { traceHeaders } from '../observability/trace.js';
import { checkPeer } from './check-peer.js';
import { serviceSpiffeId } from './spiffe.js';
import type { IdentitySource } from './tls-material.js';

export interface MtlsRequest {
  method?: Dispatcher.HttpMethod;
  path: string;
  headers?: Record<string, string>;
  /** Sent whole (string, Buffer) or streamed with back-pressure (`Readable`). */
  body?: string | Buffer | Readable;
  /** Time to wait for headers, and between body chunks (default 10 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * HTTP client for service-to-service calls: presents this service's certificate,
 * trusts only the bundle, and talks only to a peer whose SPIFFE ID is the service
 * it meant to call and whose certificate is not revoked. Connections are pooled per
 * target service; on renewal, rotation or revocation the pools are replaced, and the
 * old ones finish their in-flight requests before closing.
 */
export class MtlsClient {
  private agents = new Map<string, Agent>();
  private readonly unsubscribe: Array<() => void>;

  constructor(private readonly identity: IdentitySource) {
    this.unsubscribe = [
      identity.onChange(() => this.retireAgents()),
      identity.onRevocation(() => this.retireAgents()),
    ];
  }

  /** Calls `service` at `origin` (e.g. `https://127.0.0.1:7001`). */
  async request(service: string, origin: string, req: MtlsRequest): Promise<Dispatcher.ResponseData> {
    const timeout = req.timeoutMs ?? 10_000;
    return request(new URL(req.path, origin), {
      method: req.method ?? 'GET',
      headers: { ...traceHeaders(), ...req.headers },
      body: req.body,
      dispatcher: this.agentFor(service),
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: req.signal,
    });
  }

  agentFor(service: string): Agent {
    let agent = this.agents.get(service);
    if (!agent) {
      agent = this.createAgent(service);
      this.agents.set(service, agent);
    }
    return agent;
  }

  async close(): Promise<void> {
    for (const off of this.unsubscribe) off();
    const agents = [...this.agents.values()];
    this.agents = new Map();
    await Promise.all(agents.map((a) => a.close()));
  }

  private createAgent(service: string): Agent {
    const material = this.identity.current();
    const expected = serviceSpiffeId(this.identity.trustDomain, service);
    return new Agent({
      connect: {
        key: material.key,
        cert: material.cert,
        ca: material.ca,
        // The peer is identified by its SPIFFE ID, not by the host name it was reached at.
        checkServerIdentity: (_host: string, cert: PeerCertificate) =>
          checkPeer(cert, expected) ??
          (this.identity.isRevoked(cert.serialNumber)
            ? new Error(`peer ${expected} presents a revoked certificate`)
            : undefined),
      },
      connectTimeout: 5_000,
      keepAliveTimeout: 30_000,
    });
  }

  private retireAgents(): void {
    const old = [...this.agents.values()];
    this.agents = new Map();
    for (const agent of old) void agent.close().catch(() => undefined);
  }
}
