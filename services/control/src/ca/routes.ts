import type { JsonWebKey } from 'node:crypto';
import { normaliseSerial, type ServiceApp, type ServiceContext } from '@flotilla/kit';
import {
  CONTROL_ROUTES,
  IssueRequest,
  JoinTokenRequest,
  RenewRequest,
  REVOCATION_REASONS,
  RevokeRequest,
  RotateCaRequest,
} from '@flotilla/kit/contracts';
import type { preHandlerAsyncHookHandler } from 'fastify';
import { requireAdmin } from '../admin-auth.js';
import { createJoinToken, DEFAULT_TOKEN_TTL_SECONDS } from './join-tokens.js';
import type { CaMetrics } from '../metrics.js';
import { clientCertificate } from '../peer-certificate.js';
import type { CertificateAuthority } from './certificate-authority.js';
import { Refusal } from './refusal.js';
import { auditRejectedBodies, type RefusalAuditor, refusalAuditor } from './route-audit.js';

export interface CaRouteDeps {
  ca: CertificateAuthority;
  metrics: CaMetrics;
  adminToken: string;
  /** Called after anything that changes the bundle (rotation). */
  onBundleChange: () => Promise<void>;
  /** Public keys (JWK) that verify the policy bundle; published in `/v1/bundle` as `policyKeys`. */
  policyKeys?: () => JsonWebKey[];
}

/** What each route of the CA is built from. */
interface CaRouteContext {
  ctx: ServiceContext;
  deps: CaRouteDeps;
  admin: preHandlerAsyncHookHandler;
  refuse: RefusalAuditor;
}

/**
 * The certificate authority's API (on the kit's TLS listener), as `CONTROL_ROUTES` names
 * it: join tokens, issue, renew, revoke, trust bundle, CRLs, rotation. Requests are
 * validated against the contract's schemas; every refusal is audited.
 */
export async function caRoutes(app: ServiceApp, ctx: ServiceContext, deps: CaRouteDeps): Promise<void> {
  ctx.onClose(() => deps.ca.close());
  const routes: CaRouteContext = {
    ctx,
    deps,
    admin: requireAdmin(deps.adminToken, ctx),
    refuse: refusalAuditor(ctx, deps.metrics),
  };
  await app.register(async (plugin) => {
    // Encapsulated so the audit hook applies to these routes only.
    const scope = plugin as unknown as ServiceApp;
    auditRejectedBodies(scope, ctx, deps.metrics);
    joinTokenRoute(scope, routes);
    issueRoute(scope, routes);
    renewRoute(scope, routes);
    revocationRoute(scope, routes);
    rotationRoute(scope, routes);
    publicationRoutes(scope, deps);
  });
}

function joinTokenRoute(scope: ServiceApp, { ctx, admin }: CaRouteContext): void {
  scope.post(
    CONTROL_ROUTES.createJoinToken.path,
    { schema: { body: JoinTokenRequest }, preHandler: admin, config: { action: 'join-token.create' } },
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
      return reply.code(201).send({ token: token.token, service, expiresAt: token.expiresAt.toISOString() });
    },
  );
}

function issueRoute(scope: ServiceApp, { ctx, deps, refuse }: CaRouteContext): void {
  scope.post(
    CONTROL_ROUTES.issueCertificate.path,
    { schema: { body: IssueRequest }, config: { action: 'cert.issue' } },
    async (request, reply) => {
      try {
        const issued = await deps.ca.issueWithToken(request.body.csr, request.body.token);
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
}

function renewRoute(scope: ServiceApp, { ctx, deps, refuse }: CaRouteContext): void {
  scope.post(
    CONTROL_ROUTES.renewCertificate.path,
    { schema: { body: RenewRequest }, config: { action: 'cert.renew' } },
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
        const issued = await deps.ca.renew(request.body.csr, client.cert);
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
}

function revocationRoute(scope: ServiceApp, { ctx, deps, admin, refuse }: CaRouteContext): void {
  scope.post(
    CONTROL_ROUTES.revoke.path,
    { schema: { body: RevokeRequest }, preHandler: admin, config: { action: 'cert.revoke' } },
    async (request) => {
      const body = request.body;
      const reason = body.reason ? REVOCATION_REASONS[body.reason] : null;
      const target: { serial: string } | { service: string } =
        'serial' in body
          ? { serial: normaliseSerial(body.serial.replace(/^0x/i, '')) }
          : { service: body.service };
      try {
        const revoked = await deps.ca.revoke(target, reason);
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
}

function rotationRoute(scope: ServiceApp, { ctx, deps, admin }: CaRouteContext): void {
  scope.post(
    CONTROL_ROUTES.rotateCa.path,
    { schema: { body: RotateCaRequest }, preHandler: admin, config: { action: 'ca.rotate' } },
    async (request) => {
      const { created, bundle } = await deps.ca.rotate(request.body.which);
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
}

/** What anyone who can reach the listener may read: the trust bundle and the CRLs. */
function publicationRoutes(scope: ServiceApp, { ca, policyKeys }: CaRouteDeps): void {
  scope.get(CONTROL_ROUTES.bundle.path, async () => ({ ...ca.bundle(), policyKeys: policyKeys?.() ?? [] }));
  scope.get(CONTROL_ROUTES.crls.path, async () => ({
    crls: ca.store
      .all()
      .map((a) => ca.crls.get(a.id)?.pem)
      .filter((pem): pem is string => pem !== undefined),
  }));
}

function serviceFromSpiffe(id: string): string {
  return id.slice(id.lastIndexOf('/') + 1);
}
