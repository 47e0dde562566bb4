import type { AuditEvent } from '@flotilla/kit';
import type { LeaseGrant, LeaseRequest } from '../throttle/lease-authority.js';

/** What a worker tells the primary over the cluster's IPC channel. */
export type ToPrimary =
  | { type: 'gw:ready'; listening: string }
  | { type: 'gw:audit'; event: AuditEvent }
  | { type: 'gw:lease'; id: number; req: LeaseRequest }
  | { type: 'gw:given-back'; id: number; returned: number };

/** What the primary tells a worker. */
export type ToWorker =
  | { type: 'gw:lease'; id: number; grant: LeaseGrant }
  | { type: 'gw:give-back'; id: number; limiter: string; key: string; resetAt: number };

/** Messages are ours only when they carry a `gw:` type (the cluster module sends its own). */
export function isMessage<T extends { type: string }>(m: unknown): m is T {
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof (m as { type?: unknown }).type === 'string' &&
    (m as { type: string }).type.startsWith('gw:')
  );
}
