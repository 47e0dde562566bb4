import { createHash, timingSafeEqual } from 'node:crypto';
import { type ServiceContext, FlotillaError } from '@flotilla/kit';
import { adminTokenPath } from '@flotilla/kit/contracts';
import type { FastifyRequest } from 'fastify';
import { randomSecret, readOrCreateSecret } from './secrets.js';

/** The admin token: `FLOTILLA_ADMIN_TOKEN`, or one generated once into `<home>/secrets/admin-token` (0600). */
export async function loadAdminToken(home: string, fromEnv: string | undefined): Promise<string> {
  return fromEnv ?? (await readOrCreateSecret(adminTokenPath(home), () => randomSecret(32)));
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** True when the request carries the admin token (for read-only routes that also admit services). */
export function isAdminRequest(adminToken: string): (request: FastifyRequest) => boolean {
  const expected = digest(adminToken);
  return (request) => {
    const header = request.headers.authorization;
    const given = typeof header === 'string' ? /^Bearer ([\x21-\x7e]+)$/.exec(header)?.[1] : undefined;
    return given !== undefined && timingSafeEqual(digest(given), expected);
  };
}

/**
 * A Fastify preHandler admitting only `Authorization: Bearer <admin token>`. Hashes are
 * compared so the comparison takes the same time whatever the length of the guess.
 */
export function requireAdmin(adminToken: string, ctx: Pick<ServiceContext, 'audit'>) {
  const expected = digest(adminToken);
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([\x21-\x7e]+)$/.exec(header) : null;
    const given = match?.[1];
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return;
    await ctx.audit({
      actor: 'anonymous',
      action: 'admin.auth',
      target: `${request.method} ${request.routeOptions.url ?? request.url}`,
      outcome: 'denied',
      reason: header === undefined ? 'missing bearer token' : 'invalid bearer token',
    });
    throw new FlotillaError('FLT_UNAUTHENTICATED', 'an admin bearer token is required', {
      headers: { 'www-authenticate': 'Bearer realm="flotilla-control"' },
    });
  };
}
