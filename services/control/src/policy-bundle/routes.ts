import { FlotillaError, peerOf, type ServiceApp, type ServiceContext } from '@flotilla/kit';
import { CONTROL_ROUTES, type PolicyKeyRotation } from '@flotilla/kit/contracts';
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { PolicyBundlePublisher, SignedPolicyBundle } from './publisher.js';
import type { PolicyKeyring } from './signing-key.js';

export interface PolicyBundleRouteDeps {
  current: () => SignedPolicyBundle | undefined;
  /** Resolves when a bundle newer than `version` is signed, or after `ms` (long polls). */
  waitForNewer: (version: number, ms: number) => Promise<void>;
  /** True when the request carries the operator's admin token. */
  isAdmin: (request: FastifyRequest) => boolean;
}

/** The ETag of a bundle version (a strong validator: the bytes of one version never change). */
export const bundleEtag = (version: number): string => `"${version}"`;

/** The longest a long poll is held (s): well inside the server's request timeout. */
export const MAX_WAIT_SECONDS = 25;

/**
 * `GET /v1/policy/bundle`: the signed bundle (`application/jose`, a JWS compact
 * serialisation) with its version as ETag; `If-None-Match` with that ETag answers 304.
 * With `?wait=N` (1–25 s) and the current ETag, the answer is held until a newer bundle is
 * signed or N seconds pass (a long poll): services hear of a change at once while asking
 * once every N seconds. Workloads authenticate with their certificate (policy decides, like
 * every mTLS call); the operator with the admin token.
 */
export function policyBundleRoutes(app: ServiceApp, deps: PolicyBundleRouteDeps): void {
  app.get(CONTROL_ROUTES.policyBundle.path, async (request, reply) => {
    if (!peerOf(request) && !deps.isAdmin(request)) {
      throw new FlotillaError('FLT_UNAUTHENTICATED', 'a client certificate or the admin token is required');
    }
    const wait = waitSeconds((request.query as { wait?: unknown }).wait);
    let bundle = deps.current();
    if (!bundle) throw new FlotillaError('FLT_NOT_FOUND', 'no policy bundle has been signed');
    if (wait > 0 && matches(request.headers['if-none-match'], bundle.version)) {
      await deps.waitForNewer(bundle.version, wait * 1000);
      bundle = deps.current() ?? bundle;
    }
    const etag = bundleEtag(bundle.version);
    void reply.header('etag', etag).header('cache-control', 'no-cache');
    if (matches(request.headers['if-none-match'], bundle.version)) return reply.code(304).send();
    return reply.type('application/jose').send(Buffer.from(bundle.bytes));
  });
}

function waitSeconds(value: unknown): number {
  if (value === undefined) return 0;
  const n = typeof value === 'string' && /^\d{1,3}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && n <= MAX_WAIT_SECONDS)) {
    throw new FlotillaError(
      'FLT_BAD_REQUEST',
      `wait must be a whole number of seconds from 1 to ${MAX_WAIT_SECONDS}`,
    );
  }
  return n;
}

/** RFC 9110 §13.1.2: `*`, or any listed (weak or strong) ETag equal to ours. */
function matches(header: string | undefined, version: number): boolean {
  if (!header) return false;
  return header.split(',').some((raw) => {
    const tag = raw.trim().replace(/^W\//, '');
    return tag === '*' || tag === bundleEtag(version) || tag === String(version);
  });
}

/**
 * `POST /v1/policy/keys/rotate` (admin token): a new signing key, and the policies in force
 * re-signed with it as a new version. The previous key stays published until the next
 * rotation, so services verify whichever bundle they hold; keys older than that are retired.
 */
export function policyKeyRoutes(
  app: ServiceApp,
  ctx: Pick<ServiceContext, 'audit' | 'log'>,
  deps: {
    keyring: PolicyKeyring;
    publisher: PolicyBundlePublisher;
    requireAdmin: preHandlerAsyncHookHandler;
  },
): void {
  app.post(
    CONTROL_ROUTES.rotatePolicyKey.path,
    { preHandler: deps.requireAdmin },
    async (_request, reply) => {
      const { kid, retired } = await deps.keyring.rotate();
      const bundle = await deps.publisher.resign();
      await ctx.audit({
        actor: 'admin',
        action: 'policy.key.rotate',
        target: kid,
        outcome: 'success',
        details: { retired, version: bundle.version },
      });
      ctx.log.info({ kid, retired, version: bundle.version }, 'policy signing key rotated');
      const answer: PolicyKeyRotation = {
        kid,
        version: bundle.version,
        published: deps.keyring.publicKeys().map((k) => String(k.kid)),
        retired,
      };
      return reply.code(201).send(answer);
    },
  );
}
