import { FlotillaError, normaliseSerial, type ServiceApp, type ServiceContext } from '@flotilla/kit';
import type { FastifyRequest } from 'fastify';
import type { CaMetrics } from '../metrics.js';
import { clientCertificate } from '../peer-certificate.js';
import { Refusal } from './refusal.js';

/** The actions whose refusals count in `control_csr_refused_total`. */
const SIGNING_ACTIONS = new Set(['cert.issue', 'cert.renew']);

/** Audits a refusal and rethrows it (the kit answers it as problem+json); other errors pass through. */
export type RefusalAuditor = (request: FastifyRequest, action: string, err: unknown) => Promise<never>;

/**
 * Every refusal of the CA leaves an audit record with its stable reason, and a refused
 * CSR is counted by reason. A refusal of who the caller is (401, 403) is `denied`; a
 * request that is wrong is a `failure`.
 */
export function refusalAuditor(ctx: Pick<ServiceContext, 'audit'>, metrics: CaMetrics): RefusalAuditor {
  return async (request, action, err) => {
    if (!(err instanceof Refusal)) throw err;
    if (SIGNING_ACTIONS.has(action)) metrics.refused.inc({ reason: err.reason });
    await ctx.audit({
      actor: actorOf(request),
      action,
      target: err.service ?? 'unknown',
      outcome: err.status === 401 || err.status === 403 ? 'denied' : 'failure',
      reason: err.reason,
      details: { detail: err.message },
    });
    throw err;
  };
}

/**
 * Bodies that fail to parse or validate never reach a handler: the routes of `scope` that
 * name an `action` in their config have them audited (and counted) here.
 */
export function auditRejectedBodies(scope: ServiceApp, ctx: ServiceContext, metrics: CaMetrics): void {
  scope.addHook('onError', async (request, _reply, error) => {
    const action = (request.routeOptions.config as { action?: string } | undefined)?.action;
    // FlotillaErrors were audited where they were thrown (refusals, admin auth).
    if (!action || error instanceof FlotillaError) return;
    const { validation, code } = error as { validation?: unknown; code?: string };
    const reason = validation
      ? 'invalid_body'
      : code?.startsWith('FST_ERR_CTP')
        ? 'malformed_body'
        : 'internal_error';
    if (SIGNING_ACTIONS.has(action)) metrics.refused.inc({ reason });
    await ctx.audit({ actor: actorOf(request), action, target: 'unknown', outcome: 'failure', reason });
  });
}

/** Who made a request, for the audit trail: the serial of its verified certificate, or anonymous. */
export function actorOf(request: FastifyRequest): string {
  const cert = clientCertificate(request).cert;
  return cert ? `serial:${normaliseSerial(cert.serialNumber)}` : 'anonymous';
}
