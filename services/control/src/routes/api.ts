import type { JsonWebKey } from 'node:crypto';
import { FlotillaError, type ServiceApp, type ServiceContext } from '@flotilla/kit';
import type { FastifyRequest } from 'fastify';
import { requireAdmin } from '../admin-auth.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import { Refusal } from '../ca/refusal.js';
import { normaliseSerial } from '../ca/serial.js';
import { createJoinToken, DEFAULT_TOKEN_TTL_SECONDS } from '../join-tokens.js';
import type { CaMetrics } from '../metrics.js';
import { clientCertificate } from '../peer-certificate.js';
import {
  issueBody,
  joinTokenBody,
  renewBody,
  revocationBody,
  revocationReasons,
  rotateBody,
} from './schemas.js';

export interface ApiDeps {
  ca: CertificateAuthority;
  metrics: CaMetrics;
  adminToken: string;
  /** Called after anything that changes the bundle (rotation). */
  onBundleChange: () => Promise<void>;
  /** Public keys (JWK) that verify the policy bundle; published in `/v1/bundle` as `policyKeys`. */
  policyKeys?: () => JsonWebKey[];
}

/**
 * The control plane's API (served over the kit's TLS listener):
 * join tokens, issue, renew, revoke, CRLs, trust bundle, rotation.
 */
export async function apiRoutes(app: ServiceApp, ctx: ServiceContext, deps: ApiDeps): Promise<void> {
  const { ca, metrics } = deps;
  const admin = requireAdmin(deps.adminToken, ctx);
  ctx.onClose(() => ca.close());

  /** Audits a refusal, counts refused CSRs, and turns it into problem+json. */
  const refuse = async (request: FastifyRequest, action: string, err: unknown): Promise<never> => {
    if (!(err instanceof Refusal)) throw err;
    if (action === 'cert.issue' || action === 'cert.renew') metrics.refused.inc({ reason: err.reason });
    await ctx.audit({
      actor: actorOf(request),
      action,
      target: err.service ?? 'unknown',
      outcome: err.code === 'FLT_UNAUTHENTICATED' || err.code === 'FLT_FORBIDDEN' ? 'denied' : 'failure',
      reason: err.reason,
      details: { detail: err.message },
    });
    throw new FlotillaError(err.code, err.message);
  };

  await app.register(async (plugin) => {
    // Encapsulated so the audit hook below applies to these routes only.
    const scope = plugin as unknown as ServiceApp;
    // Bodies that fail to parse or validate never reach a handler; audit them here.
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
      if (action === 'cert.issue' || action === 'cert.renew') metrics.refused.inc({ reason });
      await ctx.audit({ actor: actorOf(request), action, target: 'unknown', outcome: 'failure', reason });
    });

    scope.post(
      '/v1/join-tokens',
      { schema: { body: joinTokenBody }, preHandler: admin, config: { action: 'join-token.create' } },
      async (request, reply) => {
        const { service, ttlSeconds } = request.body;
        const token = await createJoinToken(ctx.db, service, ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS);
        await ctx.audit({
          actor: 'admin',
          action: 'join-token.create',
          target: service,
          outcome: 'success',
          details: { expiresAt: token.expiresAt.toISOString() },
        });
        return reply
          .code(201)
          .send({ token: token.token, service, expiresAt: token.expiresAt.toISOString() });
      },
    );

    scope.post(
      '/v1/certificates',
      { schema: { body: issueBody }, config: { action: 'cert.issue' } },
      async (request, reply) => {
        try {
          const issued = await ca.issueWithToken(request.body.csr, request.body.token);
          await ctx.audit({
            actor: `join-token:${serviceFromSpiffe(issued.spiffeId)}`,
            action: 'cert.issue',
            target: issued.spiffeId,
            outcome: 'success',
            details: { serial: issued.serial, notAfter: issued.notAfter },
          });
          return reply.code(201).send(issued);
        } catch (err) {
          return refuse(request, 'cert.issue', err);
        }
      },
    );

    scope.post(
      '/v1/certificates/renew',
      { schema: { body: renewBody }, config: { action: 'cert.renew' } },
      async (request, reply) => {
        try {
          const client = clientCertificate(request);
          if (!client.cert && client.error) {
            const expired = /expired/i.test(client.error);
            throw new Refusal(
              'FLT_UNAUTHENTICATED',
              expired ? 'cert_expired' : 'cert_untrusted',
              expired
                ? 'the client certificate has expired'
                : `the client certificate is not trusted (${client.error})`,
            );
          }
          const issued = await ca.renew(request.body.csr, client.cert);
          await ctx.audit({
            actor: issued.spiffeId,
            action: 'cert.renew',
            target: issued.spiffeId,
            outcome: 'success',
            details: {
              serial: issued.serial,
              previous: normaliseSerial(client.cert?.serialNumber ?? ''),
              notAfter: issued.notAfter,
            },
          });
          return reply.code(201).send(issued);
        } catch (err) {
          return refuse(request, 'cert.renew', err);
        }
      },
    );

    scope.post(
      '/v1/revocations',
      { schema: { body: revocationBody }, preHandler: admin, config: { action: 'cert.revoke' } },
      async (request) => {
        const body = request.body;
        const reason = body.reason ? revocationReasons[body.reason] : null;
        const target: { serial: string } | { service: string } =
          'serial' in body
            ? { serial: normaliseSerial(body.serial.replace(/^0x/i, '')) }
            : { service: body.service };
        try {
          const revoked = await ca.revoke(target, reason);
          await ctx.audit({
            actor: 'admin',
            action: 'cert.revoke',
            target: 'serial' in target ? target.serial : target.service,
            outcome: 'success',
            details: { revoked, ...(body.reason ? { reason: body.reason } : {}) },
          });
          return { revoked };
        } catch (err) {
          return refuse(request, 'cert.revoke', err);
        }
      },
    );

    scope.post(
      '/v1/ca/rotate',
      { schema: { body: rotateBody }, preHandler: admin, config: { action: 'ca.rotate' } },
      async (request) => {
        const { created, bundle } = await ca.rotate(request.body.which);
        await ctx.audit({
          actor: 'admin',
          action: 'ca.rotate',
          target: request.body.which,
          outcome: 'success',
          details: { created, bundleVersion: bundle.version },
        });
        await deps.onBundleChange();
        return { created, bundle };
      },
    );

    scope.get('/v1/bundle', async () => ({ ...ca.bundle(), policyKeys: deps.policyKeys?.() ?? [] }));

    scope.get('/v1/crls', async () => ({
      crls: ca.store
        .all()
        .map((a) => ca.crls.get(a.id)?.pem)
        .filter((pem): pem is string => pem !== undefined),
    }));
  });
}

function actorOf(request: FastifyRequest): string {
  const cert = clientCertificate(request).cert;
  return cert ? `serial:${normaliseSerial(cert.serialNumber)}` : 'anonymous';
}

function serviceFromSpiffe(id: string): string {
  return id.slice(id.lastIndexOf('/') + 1);
}
