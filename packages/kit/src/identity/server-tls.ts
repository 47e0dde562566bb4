import type { Server as HttpsServer } from 'node:https';
import type { FastifyInstance } from 'fastify';
import type { BaseConfig } from '../config/index.js';
import { FlotillaError } from '../errors/index.js';
import { enforceRevocation, type Peer, peerOfSocket } from './peer.js';
import type { IdentitySource, TlsMaterial } from './tls-material.js';

/** Server TLS settings from identity material: mTLS, callers verified against the bundle. */
export function tlsOptions(material: TlsMaterial, config: BaseConfig) {
  return {
    key: material.key,
    cert: material.cert,
    ca: material.ca,
    requestCert: true,
    rejectUnauthorized: config.FLOTILLA_CLIENT_CERT === 'require',
    minVersion: 'TLSv1.2' as const,
  };
}

/**
 * Keeps the server's TLS current: a renewed certificate or a new bundle swaps the
 * secure context in place (open connections keep theirs, none is dropped), and a
 * revoked caller is cut off at once and refused on every request.
 */
export function secureServer(app: FastifyInstance, identity: IdentitySource, config: BaseConfig): void {
  const server = app.server as unknown as HttpsServer;
  const offChange = identity.onChange((material) => server.setSecureContext(tlsOptions(material, config)));
  const offRevocation = enforceRevocation(server, identity);
  app.addHook('onClose', async () => {
    offChange();
    offRevocation();
  });
  app.addHook('onRequest', async (request) => {
    const peer = peerOfSocket(request.raw.socket);
    if (peer && identity.isRevoked(peer.serial))
      throw new FlotillaError('FLT_FORBIDDEN', 'client certificate is revoked');
  });
}

/**
 * The verified mTLS caller of a request (its SPIFFE ID and serial), if any.
 *
 * @example
 * app.get('/whoami', async (req) => ({ caller: peerOf(req)?.id ?? null }));
 */
export function peerOf(request: { raw: { socket: unknown } }): Peer | undefined {
  return peerOfSocket(request.raw.socket);
}
