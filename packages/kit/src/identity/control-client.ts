import type { JsonWebKey } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { Agent, type Dispatcher, request } from 'undici';
import { parseSpiffeId, serviceSpiffeId, spiffeIdOfCertificate } from './spiffe.js';
import type { TlsMaterial } from './tls-material.js';
import { x509 } from './x509.js';

/** The control plane's answer to an issue or renew request. */
interface IssuedChain {
  certificate: string;
  chain: string[];
  bundle: string[];
  serial: string;
  spiffeId: string;
  notAfter: string;
}

export interface TrustBundle {
  version: number;
  roots: string[];
  intermediates: string[];
  /** Public JWKs that verify the signed policy bundle (absent on older control planes). */
  policyKeys?: JsonWebKey[];
}

/** `GET /v1/policy/bundle`: the JWS and its ETag, or unchanged (304), or none signed (404). */
export type PolicyBundleResponse =
  | { status: 'ok'; bytes: Uint8Array; etag: string | undefined }
  | { status: 'not-modified' }
  | { status: 'none' };

/**
 * Talks to the control plane's certificate authority. Every connection verifies that
 * the server is `spiffe://<trust-domain>/svc/control`, not merely "signed by our CA".
 * Calls made with a certificate go through `mtls` when given — the service's `MtlsClient`
 * pool for `control`: kept alive, replaced on renewal and rotation, and refusing a revoked
 * control plane — so that bundle, CRL and policy polls do not cost a TLS handshake each.
 * Without it (and to join, before there is a certificate) each call has its own connection.
 */
export class ControlClient {
  constructor(
    private readonly baseUrl: string,
    private readonly trustDomain: string,
    private readonly mtls?: () => Dispatcher,
  ) {}

  /** First certificate, authenticated by a one-time join token. */
  issue(trustedRoots: string, token: string, csr: string): Promise<IssuedChain> {
    return this.post('/v1/certificates', { csr, token }, { ca: trustedRoots });
  }

  /** Next certificate, authenticated by the current one. */
  renew(current: TlsMaterial, csr: string): Promise<IssuedChain> {
    return this.post('/v1/certificates/renew', { csr }, current);
  }

  bundle(current: TlsMaterial): Promise<TrustBundle> {
    return this.get('/v1/bundle', current);
  }

  crls(current: TlsMaterial): Promise<{ crls: string[] }> {
    return this.get('/v1/crls', current);
  }

  /** The signed policy bundle, conditional on the ETag last seen (held up to `waitSeconds` for a newer one). */
  async policyBundle(
    current: TlsMaterial,
    etag?: string,
    waitSeconds?: number,
    signal?: AbortSignal,
  ): Promise<PolicyBundleResponse> {
    const { agent, oneOff } = this.agentFor(current);
    // A long poll: the control plane holds the answer until a newer bundle or `wait` s.
    const wait = etag && waitSeconds ? waitSeconds : 0;
    try {
      const res = await request(new URL(`/v1/policy/bundle${wait ? `?wait=${wait}` : ''}`, this.baseUrl), {
        dispatcher: agent,
        headers: etag ? { 'if-none-match': etag } : {},
        headersTimeout: (wait + 10) * 1000,
        bodyTimeout: 10_000,
        signal,
      });
      const body = new Uint8Array(await res.body.arrayBuffer());
      if (res.statusCode === 304) return { status: 'not-modified' };
      if (res.statusCode === 404) return { status: 'none' };
      if (res.statusCode !== 200) {
        const detail = safeDetail(new TextDecoder().decode(body));
        throw new Error(
          `control plane refused GET /v1/policy/bundle: ${res.statusCode}${detail ? ` ${detail}` : ''}`,
        );
      }
      const tag = res.headers.etag;
      return { status: 'ok', bytes: body, etag: typeof tag === 'string' ? tag : undefined };
    } finally {
      if (oneOff) await agent.close();
    }
  }

  private async get<T>(path: string, tls: TlsOptions): Promise<T> {
    return this.send<T>('GET', path, undefined, tls);
  }

  private async post<T>(path: string, body: unknown, tls: TlsOptions): Promise<T> {
    return this.send<T>('POST', path, body, tls);
  }

  /** The service's mTLS pool for calls with a certificate; a one-off agent otherwise. */
  private agentFor(tls: TlsOptions): { agent: Dispatcher; oneOff: false } | { agent: Agent; oneOff: true } {
    if (tls.cert && this.mtls) return { agent: this.mtls(), oneOff: false };
    return { agent: this.agent(tls), oneOff: true };
  }

  private agent(tls: TlsOptions): Agent {
    const expected = serviceSpiffeId(this.trustDomain, 'control');
    return new Agent({
      connect: {
        ca: tls.ca,
        ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
        checkServerIdentity: (_host: string, cert: PeerCertificate) => checkPeer(cert, expected),
      },
      connectTimeout: 5_000,
    });
  }

  private async send<T>(method: 'GET' | 'POST', path: string, body: unknown, tls: TlsOptions): Promise<T> {
    const { agent, oneOff } = this.agentFor(tls);
    try {
      const res = await request(new URL(path, this.baseUrl), {
        method,
        dispatcher: agent,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      const text = await res.body.text();
      if (res.statusCode >= 300) {
        const detail = safeDetail(text);
        throw new Error(
          `control plane refused ${method} ${path}: ${res.statusCode}${detail ? ` ${detail}` : ''}`,
        );
      }
      return JSON.parse(text) as T;
    } finally {
      if (oneOff) await agent.close();
    }
  }
}

interface TlsOptions {
  ca: string;
  cert?: string;
  key?: string;
}

/** Refuses a TLS peer whose SPIFFE ID is not the expected one. */
export function checkPeer(cert: PeerCertificate, expected: string): Error | undefined {
  const peer = cert.raw ? spiffeIdOfCertificate(cert.raw) : undefined;
  if (!peer) return new Error(`peer certificate has no SPIFFE ID (expected ${expected})`);
  if (peer.id !== expected) return new Error(`peer is ${peer.id}, expected ${expected}`);
  return undefined;
}

function safeDetail(text: string): string {
  try {
    const problem = JSON.parse(text) as { detail?: string; code?: string };
    return problem.detail ?? problem.code ?? '';
  } catch {
    return '';
  }
}

/** Turns an issued chain plus the key we kept into TLS material, after checking it is ours. */
export function toMaterial(
  issued: IssuedChain,
  keyPem: string,
  trustDomain: string,
  service: string,
): TlsMaterial {
  const leaf = new x509.X509Certificate(issued.certificate);
  const spiffe = spiffeIdOfCertificate(new Uint8Array(leaf.rawData));
  const expected = serviceSpiffeId(trustDomain, service);
  if (spiffe?.id !== expected || parseSpiffeId(issued.spiffeId)?.id !== expected) {
    throw new Error(
      `control plane issued a certificate for ${spiffe?.id ?? 'no SPIFFE ID'}, expected ${expected}`,
    );
  }
  return {
    key: keyPem,
    cert: [issued.certificate, ...issued.chain].map((p) => p.trim()).join('\n') + '\n',
    ca: issued.bundle.map((p) => p.trim()).join('\n') + '\n',
    spiffeId: expected,
    serial: leaf.serialNumber,
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
  };
}
