import type { Agent, Dispatcher } from 'undici';
import { FlotillaError } from '../../errors/index.js';
import { parseSpiffeId, serviceSpiffeId, spiffeIdOfCertificate } from '../../identity/spiffe.js';
import type { TlsMaterial } from '../../identity/tls-material.js';
import { x509 } from '../../identity/x509.js';
import { CONTROL_ROUTES } from './routes.js';
import { CrlList, IssuedCertificate, TrustBundle } from './schemas.js';
import {
  callControl,
  type ControlCall,
  type ControlTls,
  controlAgent,
  refusal,
  sendControl,
} from './transport.js';

/** `GET /v1/policy/bundle`: the JWS and its ETag, or unchanged (304), or none signed (404). */
export type PolicyBundleResponse =
  | { status: 'ok'; bytes: Uint8Array; etag: string | undefined }
  | { status: 'not-modified' }
  | { status: 'none' };

/**
 * The workload's side of the control plane's API: join, renew, trust bundle, CRLs and the
 * signed policy bundle. Every connection verifies that the server is
 * `spiffe://<trust-domain>/svc/control`, not merely "signed by our CA". Calls made with a
 * certificate go through `mtls` when given — the service's `MtlsClient` pool for
 * `control`: kept alive, replaced on renewal and rotation, and refusing a revoked control
 * plane — so that bundle, CRL and policy polls do not cost a TLS handshake each. Without
 * it (and to join, before there is a certificate) each call has its own connection. A
 * refusal is the `FlotillaError` the control plane answered with.
 *
 * @example
 * const client = new ControlClient('https://127.0.0.1:7400', 'flotilla.local');
 * const issued = await client.issue(rootsPem, joinToken, csrPem);
 */
export class ControlClient {
  constructor(
    private readonly baseUrl: string,
    private readonly trustDomain: string,
    private readonly mtls?: () => Dispatcher,
  ) {}

  /** First certificate, authenticated by a one-time join token. */
  issue(trustedRoots: string, token: string, csr: string): Promise<IssuedCertificate> {
    const call = { ...CONTROL_ROUTES.issueCertificate, body: { csr, token } };
    return this.call({ ca: trustedRoots }, call, IssuedCertificate);
  }

  /** Next certificate, authenticated by the current one. */
  renew(current: TlsMaterial, csr: string): Promise<IssuedCertificate> {
    return this.call(current, { ...CONTROL_ROUTES.renewCertificate, body: { csr } }, IssuedCertificate);
  }

  bundle(current: TlsMaterial): Promise<TrustBundle> {
    return this.call(current, { ...CONTROL_ROUTES.bundle }, TrustBundle);
  }

  crls(current: TlsMaterial): Promise<CrlList> {
    return this.call(current, { ...CONTROL_ROUTES.crls }, CrlList);
  }

  /** The signed policy bundle, conditional on the ETag last seen (held up to `waitSeconds` for a newer one). */
  async policyBundle(
    current: TlsMaterial,
    etag?: string,
    waitSeconds?: number,
    signal?: AbortSignal,
  ): Promise<PolicyBundleResponse> {
    // A long poll: the control plane holds the answer until a newer bundle or `wait` s.
    const wait = etag && waitSeconds ? waitSeconds : 0;
    const call: ControlCall = {
      method: CONTROL_ROUTES.policyBundle.method,
      path: `${CONTROL_ROUTES.policyBundle.path}${wait ? `?wait=${wait}` : ''}`,
      headers: etag ? { 'if-none-match': etag } : {},
      timeoutMs: (wait + 10) * 1000,
      ...(signal ? { signal } : {}),
    };
    const res = await this.withAgent(current, (agent) => sendControl(agent, this.baseUrl, call));
    if (res.status === 304) return { status: 'not-modified' };
    if (res.status === 404) return { status: 'none' };
    if (res.status !== 200) throw refusal(call, res.status, safeJson(res.bytes));
    const tag = res.headers.etag;
    return { status: 'ok', bytes: res.bytes, etag: typeof tag === 'string' ? tag : undefined };
  }

  private call<T extends Parameters<typeof callControl>[3]>(tls: ControlTls, call: ControlCall, answer: T) {
    return this.withAgent(tls, (agent) => callControl(agent, this.baseUrl, call, answer));
  }

  /** The service's mTLS pool for calls with a certificate; a one-off agent otherwise. */
  private async withAgent<R>(tls: ControlTls, use: (agent: Dispatcher) => Promise<R>): Promise<R> {
    if (tls.cert && this.mtls) return use(this.mtls());
    const agent: Agent = controlAgent(this.trustDomain, tls);
    try {
      return await use(agent);
    } finally {
      await agent.close();
    }
  }
}

function safeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  } catch {
    return undefined;
  }
}

/** Turns an issued chain plus the key we kept into TLS material, after checking it is ours. */
export function toMaterial(
  issued: IssuedCertificate,
  keyPem: string,
  trustDomain: string,
  service: string,
): TlsMaterial {
  const leaf = new x509.X509Certificate(issued.certificate);
  const spiffe = spiffeIdOfCertificate(new Uint8Array(leaf.rawData));
  const expected = serviceSpiffeId(trustDomain, service);
  if (spiffe?.id !== expected || parseSpiffeId(issued.spiffeId)?.id !== expected) {
    throw new FlotillaError(
      'FLT_UPSTREAM_FAILED',
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
