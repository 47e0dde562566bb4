import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { busPasswordFile } from '@flotilla/kit';
import { REVOCATION_EVENTS_PATH } from '@flotilla/kit/contracts';
import type { Fleet, FleetKey, FleetService } from '../fleet/schema.js';
import { webConfig } from './platform-env.js';
import type { FleetProcess } from './process-spec.js';

/** The platform's own services ship with Flotilla: their packages' process entries. */
export const PLATFORM_ENTRIES = {
  auth: { package: '@flotilla/auth/main' },
  gateway: { package: '@flotilla/gateway/main' },
  kms: { package: '@flotilla/kms/main' },
  storage: { package: '@flotilla/storage/main' },
} as const;

/** The fleet's fixed ports (0: any free one). */
export interface FleetPorts {
  control: number;
  auth: number;
  gateway: number;
  http: number;
}

const DEFAULT_PORTS: FleetPorts = { control: 7400, auth: 7410, gateway: 8443, http: 8080 };

export function fleetPorts(fleet: Fleet): FleetPorts {
  return {
    control: fleet.control?.port ?? DEFAULT_PORTS.control,
    auth: fleet.auth.port ?? DEFAULT_PORTS.auth,
    gateway: fleet.gateway.port ?? DEFAULT_PORTS.gateway,
    http: fleet.gateway.httpPort ?? DEFAULT_PORTS.http,
  };
}

/** The auth service: users, clients and the fleet's tokens. */
export function authProcess(ports: FleetPorts, files: { clients: string; users: string }): FleetProcess {
  return {
    name: 'auth',
    service: 'auth',
    entry: PLATFORM_ENTRIES.auth,
    env: {
      PORT: String(ports.auth),
      FLOTILLA_CLIENT_CERT: 'optional',
      AUTH_CLIENTS_FILE: files.clients,
      AUTH_BOOTSTRAP_USERS_FILE: files.users,
    },
    database: true,
  };
}

/** The keys the KMS creates at start when missing: the fleet file's, and `storage` always. */
export function kmsKeys(fleet: Fleet): FleetKey[] {
  const keys = [...(fleet.keys ?? [])];
  if (!keys.some((k) => k.name === 'storage'))
    keys.push({ name: 'storage', description: "storage's server-side encryption", rotationDays: 90 });
  return keys;
}

/** The KMS: keys sealed under the root key file, the fleet's keys declared at start. */
export function kmsProcess(files: { rootKey: string; keys: string }): FleetProcess {
  return {
    name: 'kms',
    service: 'kms',
    entry: PLATFORM_ENTRIES.kms,
    env: { PORT: '0', KMS_ROOT_KEY_FILE: files.rootKey, KMS_KEYS_FILE: files.keys },
    database: true,
  };
}

/**
 * The storage service's buckets file (STORAGE_BUCKETS_FILE) from the fleet file's
 * `buckets:`, each policy path made absolute (they are relative to the fleet file).
 */
export function storageBucketsFile(fleet: Fleet, root: string): string {
  return JSON.stringify(
    (fleet.buckets ?? []).map((b) => ({ ...b, ...(b.policy ? { policy: join(root, b.policy) } : {}) })),
    null,
    2,
  );
}

/**
 * The storage service: the fleet's buckets, objects encrypted with data keys from the
 * KMS (`STORAGE_KMS_KEY`, default `storage`); STORAGE_URL (s3://…) from the operator's
 * environment chooses S3 over the local disk.
 */
export function storageProcess(files: { buckets: string }): FleetProcess {
  return {
    name: 'storage',
    service: 'storage',
    entry: PLATFORM_ENTRIES.storage,
    env: {
      PORT: '0',
      STORAGE_BUCKETS_FILE: files.buckets,
      ...(process.env.STORAGE_URL ? { STORAGE_URL: process.env.STORAGE_URL } : {}),
    },
    database: true,
  };
}

/**
 * The embedded broker (`@flotilla/broker/main`, issue 18): the fleet's queues and topics
 * when BUS_URL is unset, its messages in its own database. Not yet started by `flotilla
 * up`: wiring it adds `broker` to PLATFORM_ENTRIES (compiled with the others) and starts
 * it before the fleet's services.
 */
export const BROKER_ENTRY = { package: '@flotilla/broker/main' } as const;

export function brokerProcess(): FleetProcess {
  return {
    name: 'broker',
    service: 'broker',
    entry: BROKER_ENTRY,
    env: { PORT: '0' },
    database: true,
  };
}

/**
 * A service of the fleet file: one process per instance, the first on its fixed port if it has one.
 * A service that uses the bus gets its RabbitMQ password file, once `flotilla bus provision` made it.
 */
export function serviceProcesses(service: FleetService, home?: string): FleetProcess[] {
  const count = service.instances ?? 1;
  const passwordFile = home && service.bus ? busPasswordFile(home, service.name) : undefined;
  const bus: Record<string, string> =
    passwordFile && existsSync(passwordFile) ? { FLOTILLA_BUS_PASSWORD_FILE: passwordFile } : {};
  return Array.from({ length: count }, (_, k) => ({
    name: count > 1 ? `${service.name}#${k + 1}` : service.name,
    service: service.name,
    entry: { file: service.entry },
    env: { PORT: String(k === 0 && service.port ? service.port : 0), ...bus, ...(service.env ?? {}) },
    database: service.database === true,
  }));
}

/**
 * The gateway: the HTTPS edge on the fleet's port, HTTP redirects, the fleet's routes, the
 * web app; it hears of revocations from auth (`authUrl`) unless they travel through Redis.
 */
export function gatewayProcess(
  fleet: Fleet,
  ports: FleetPorts,
  at: { root: string; routesFile: string; issuer: string; webOrigin: string; authUrl: string },
): FleetProcess {
  return {
    name: 'gateway',
    service: 'gateway',
    entry: PLATFORM_ENTRIES.gateway,
    env: {
      PORT: '0',
      TLS_PORT: String(ports.gateway),
      HTTP_REDIRECT_PORT: String(ports.http),
      GATEWAY_ROUTES_FILE: at.routesFile,
      AUTH_JWKS_URL: `${at.issuer}/jwks`,
      ...(process.env.REDIS_URL ? {} : { REVOCATION_EVENTS_URL: `${at.authUrl}${REVOCATION_EVENTS_PATH}` }),
      ...(fleet.gateway.web
        ? {
            GATEWAY_WEB_DIR: join(at.root, fleet.gateway.web),
            GATEWAY_WEB_CONFIG: JSON.stringify(webConfig(fleet, at.issuer, at.webOrigin)),
          }
        : {}),
    },
    database: false,
  };
}
