import { x509 } from './x509.js';

// SPIFFE ID spec §2: scheme "spiffe", a trust domain of [a-z0-9.-_], path segments of [A-Za-z0-9.-_].
const SPIFFE_ID = /^spiffe:\/\/([a-z0-9._-]+)\/svc\/([a-z][a-z0-9-]{0,62})$/;

export interface SpiffeId {
  id: string;
  trustDomain: string;
  service: string;
}

/**
 * The SPIFFE ID of a service in a trust domain, as its certificate's URI SAN holds it.
 *
 * @example
 * serviceSpiffeId('flotilla.local', 'metadata'); // 'spiffe://flotilla.local/svc/metadata'
 */
export function serviceSpiffeId(trustDomain: string, service: string): string {
  return `spiffe://${trustDomain}/svc/${service}`;
}

/**
 * Splits a service's SPIFFE ID into its trust domain and service name; undefined for
 * anything else.
 *
 * @example
 * parseSpiffeId('spiffe://flotilla.local/svc/metadata')?.service; // 'metadata'
 */
export function parseSpiffeId(id: string): SpiffeId | undefined {
  const m = SPIFFE_ID.exec(id);
  return m?.[1] && m[2] ? { id, trustDomain: m[1], service: m[2] } : undefined;
}

/**
 * The SPIFFE ID of a certificate (DER): its one and only `spiffe://` URI SAN
 * (X.509-SVID spec §2: exactly one URI SAN). Undefined if there is none or more than one.
 */
export function spiffeIdOfCertificate(der: Uint8Array): SpiffeId | undefined {
  const cert = new x509.X509Certificate(der);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const uris = san?.names.items.filter((n) => n.type === 'url').map((n) => n.value) ?? [];
  if (uris.length !== 1 || !uris[0]) return undefined;
  return parseSpiffeId(uris[0]);
}

/** Serial numbers compared as lower-case hex without leading zeros, whoever printed them. */
export function normaliseSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+(?=.)/, '');
}
