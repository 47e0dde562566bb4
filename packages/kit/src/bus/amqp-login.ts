import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials } from 'amqplib';
import { FlotillaError } from '../errors/index.js';
import type { TlsMaterial } from '../identity/index.js';

/** What amqplib's `connect` takes besides the URL: the SASL login, and TLS material for amqps. */
export interface AmqpSocketLogin {
  credentials?: ReturnType<typeof credentials.plain> | ReturnType<typeof credentials.external>;
  cert?: string;
  key?: string;
  ca?: string;
}

export interface AmqpLoginOptions {
  /** BUS_URL. */
  url: string;
  service: string;
  /** The service's SPIFFE ID: its RabbitMQ user name, as `flotilla bus provision` made it. */
  identity: string;
  /** FLOTILLA_HOME: `<home>/secrets/bus/<service>` is the provisioned password. */
  home: string;
  /** FLOTILLA_BUS_PASSWORD_FILE: this file, and no other; missing is an error. */
  passwordFile?: string | undefined;
  /** The workload identity's current material, for EXTERNAL login on amqps://. */
  tls?: (() => TlsMaterial) | undefined;
}

/** Where `flotilla bus provision` writes a service's password (mode 0600). */
export const busPasswordFile = (home: string, service: string) => join(home, 'secrets', 'bus', service);

/**
 * How a service logs in to RabbitMQ, decided at each (re)connection so a renewed
 * certificate is used:
 * 1. BUS_URL carries a password: that user (a shared development login such as guest).
 * 2. A provisioned password (FLOTILLA_BUS_PASSWORD_FILE, else `<home>/secrets/bus/<service>`):
 *    the user BUS_URL names, else the service's SPIFFE ID.
 * 3. amqps:// with no user and a workload identity: EXTERNAL, with the workload certificate
 *    and key, trusting the fleet's CA. RabbitMQ takes the user name from the certificate's
 *    SPIFFE URI SAN; no password exists.
 * 4. Otherwise amqplib's default (guest), as before provisioning.
 */
export function amqpLogin(opts: AmqpLoginOptions): () => AmqpSocketLogin {
  const url = new URL(opts.url);
  return () => {
    if (url.password) return {};
    const password = readPassword(opts);
    if (password !== undefined) {
      const user = url.username ? decodeURIComponent(url.username) : opts.identity;
      return { credentials: credentials.plain(user, password) };
    }
    if (url.protocol === 'amqps:' && !url.username && opts.tls) {
      const { cert, key, ca } = opts.tls();
      return { credentials: credentials.external(), cert, key, ca };
    }
    return {};
  };
}

function readPassword(opts: AmqpLoginOptions): string | undefined {
  const file = opts.passwordFile ?? busPasswordFile(opts.home, opts.service);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && opts.passwordFile === undefined) return undefined;
    throw new FlotillaError(
      'FLT_BUS_UNAVAILABLE',
      `cannot read the bus password file ${file}: ${(err as Error).message}`,
    );
  }
}
