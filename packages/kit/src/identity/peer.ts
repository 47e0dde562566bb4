import type { Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { normaliseSerial, type SpiffeId, spiffeIdOfCertificate } from './spiffe.js';
import type { IdentitySource } from './tls-material.js';

/** The verified caller of an mTLS connection. */
export interface Peer extends SpiffeId {
  serial: string;
}

const peers = new WeakMap<object, Peer | null>();

/** The verified peer of a socket, or undefined for a plain or unauthenticated connection. */
export function peerOfSocket(socket: unknown): Peer | undefined {
  const tls = socket as Partial<TLSSocket>;
  if (!tls.encrypted || !tls.authorized || !tls.getPeerX509Certificate) return undefined;
  let peer = peers.get(tls);
  if (peer === undefined) {
    const cert = tls.getPeerX509Certificate();
    const spiffe = cert ? spiffeIdOfCertificate(new Uint8Array(cert.raw)) : undefined;
    peer = cert && spiffe ? { ...spiffe, serial: normaliseSerial(cert.serialNumber) } : null;
    peers.set(tls, peer);
  }
  return peer ?? undefined;
}

/**
 * Refuses revoked peers on a TLS server: at the handshake, and — for connections that
 * were open when the revocation arrived — by closing them at once.
 */
export function enforceRevocation(server: HttpsServer, identity: IdentitySource): () => void {
  const open = new Set<TLSSocket>();
  server.on('secureConnection', (socket: TLSSocket) => {
    const peer = peerOfSocket(socket);
    if (peer && identity.isRevoked(peer.serial)) {
      socket.destroy();
      return;
    }
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  return identity.onRevocation(() => {
    for (const socket of open) {
      const peer = peerOfSocket(socket);
      if (peer && identity.isRevoked(peer.serial)) socket.destroy();
    }
  });
}
