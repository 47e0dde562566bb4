import { isIP } from 'node:net';
import type { EntityInput } from '@flotilla/policy';
import type { User } from '@flotilla/kit';
import { callerEntity } from '@flotilla/kit';

/** Who is asking: a fleet service (its mTLS identity) or a person (the token the gateway forwarded). */
export interface Caller {
  entity: EntityInput;
  /** For audit records: the SPIFFE ID, or `user:<sub>`. */
  actor: string;
  mfa: boolean;
}

export function serviceCaller(service: string, spiffeId: string): Caller {
  return {
    entity: { uid: { type: 'Service', id: service }, attrs: { spiffeId } },
    actor: spiffeId,
    mfa: false,
  };
}

export function userCaller(user: User): Caller {
  return { entity: callerEntity(user), actor: `user:${user.sub}`, mfa: user.mfa };
}

/**
 * The TCP peer's address in the form Cedar's `ip()` accepts, or undefined (left out of the
 * context; a policy tests `context has sourceIp`). Cedar refuses IPv4-mapped IPv6 and zones.
 */
export function cedarIp(address: string | undefined): string | undefined {
  if (!address) return undefined;
  let ip = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) ip = mapped[1];
  const family = isIP(ip);
  if (family === 4 || (family === 6 && !ip.includes('.'))) return ip;
  return undefined;
}
