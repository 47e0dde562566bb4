import { TLSSocket } from 'node:tls';
import { x509 } from './x509.js';

/** What the TLS layer says about the caller's client certificate. */
export interface ClientCertificate {
  /** The verified certificate (chain checked against the bundle by the TLS server). */
  cert?: x509.X509Certificate;
  /** Why a presented certificate did not verify, e.g. `CERT_HAS_EXPIRED`. */
  error?: string;
}

/**
 * The caller's client certificate, if the connection is TLS and the certificate
 * verified against the trust bundle during the handshake.
 */
export function peerCertificate(request: { raw: { socket: unknown } }): x509.X509Certificate | undefined {
  return clientCertificate(request).cert;
}

export function clientCertificate(request: { raw: { socket: unknown } }): ClientCertificate {
  const socket = request.raw.socket;
  if (!(socket instanceof TLSSocket)) return {};
  const presented = socket.getPeerCertificate(true);
  if (!presented || !('raw' in presented) || !presented.raw) return {};
  if (!socket.authorized) {
    const reason = socket.authorizationError;
    return { error: reason instanceof Error ? reason.message : String(reason ?? 'not verified') };
  }
  return { cert: new x509.X509Certificate(new Uint8Array(presented.raw)) };
}
