import type { AuditEvent } from '@flotilla/kit';
import type { JWTVerifyGetKey } from 'jose';
import type { CallerCredential } from '../forward/caller-credential.js';
import type { Upstream } from '../forward/upstream.js';
import type { RouteDecider } from '../policy/route-decider.js';
import type { Denylist } from '../revocation/denylist.js';
import type { RevocationSubscriber } from '@flotilla/kit/contracts';
import type { GatewayRoutesConfig } from '../routes/route-schema.js';
import type { SharedLimiters } from '../throttle/throttler.js';

/** What can be injected instead of being built from configuration (tests, `flotilla up`, later wiring). */
export interface GatewayDeps {
  /** Routes given in code instead of `GATEWAY_ROUTES_FILE`. */
  routes?: GatewayRoutesConfig;
  /** Replaces the plain per-service upstream (e.g. with the kit's mTLS discovery client). */
  upstream?: Upstream;
  /** Replaces the Cedar decision on the route's action (or, with no authenticated route, on scopes). */
  policy?: RouteDecider;
  /** Replaces the subscriber chosen from REDIS_URL / REVOCATION_EVENTS_URL. */
  revocations?: RevocationSubscriber;
  /** Replaces forwarding the caller's own token. */
  credential?: CallerCredential;
  /** The edge certificate and key (PEM) instead of TLS_CERT_FILE / TLS_KEY_FILE. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** A key resolver instead of fetching AUTH_JWKS_URL. */
  getKey?: JWTVerifyGetKey;
  /** Where audit events go instead of this process's trail (a cluster worker hands them to the primary). */
  audit?: (event: AuditEvent) => Promise<unknown>;
  /** Rate-limit counters shared with other processes when REDIS_URL is unset (a cluster worker's leases). */
  sharedLimiters?: SharedLimiters;
}

/** Ports and objects a running gateway exposes to `startGateway` and `main.ts`. */
export interface GatewayRuntime {
  httpsPort?: number;
  /** The HTTPS edge as clients reach it, once listening (e.g. `https://127.0.0.1:8443`). */
  httpsUrl?: string;
  redirectPort?: number;
  denylist?: Denylist;
  revocations?: RevocationSubscriber;
}
