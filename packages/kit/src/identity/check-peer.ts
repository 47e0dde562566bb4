import type { PeerCertificate } from 'node:tls';
import { spiffeIdOfCertificate } from './spiffe.js';

/**
 * Refuses a TLS peer whose SPIFFE ID is not the expected one: "signed by our CA" is not
 * enough, it must be the service the caller meant to reach. For `checkServerIdentity`.
 *
 * @example
 * new Agent({ connect: { ca, checkServerIdentity: (_host, cert) => checkPeer(cert, serviceSpiffeId(td, 'control')) } });
 */
export function checkPeer(cert: PeerCertificate, expected: string): Error | undefined {
  const peer = cert.raw ? spiffeIdOfCertificate(cert.raw) : undefined;
  if (!peer) return new Error(`peer certificate has no SPIFFE ID (expected ${expected})`);
  if (peer.id !== expected) return new Error(`peer is ${peer.id}, expected ${expected}`);
  return undefined;
}
