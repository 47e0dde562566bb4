import { FlotillaError, peerOf } from '@flotilla/kit';
import type { FastifyRequest } from 'fastify';
import type { Caller } from '../authz/bus-authz.js';

/** The caller of a request: the service in its client certificate; none, no answer. */
export function callerOf(req: FastifyRequest): Caller {
  const peer = peerOf(req);
  if (!peer)
    throw new FlotillaError(
      'FLT_UNAUTHENTICATED',
      'the broker answers workloads: present a client certificate',
    );
  return { service: peer.service, id: peer.id };
}
