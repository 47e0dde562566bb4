import { FlotillaError, peerOf, type ServiceContext, type UserAuth, bearerToken } from '@flotilla/kit';
import type { FastifyRequest } from 'fastify';
import type { BucketAccess, StorageAction } from '../access/bucket-access.js';
import { type Caller, serviceCaller, userCaller } from '../access/caller.js';
import type { Bucket } from '../buckets.js';
import type { StorageMetrics, StorageOp } from '../metrics.js';

/** Who is asking, per request (for the audit of a refusal). */
const callers = new WeakMap<object, Caller>();

/**
 * The checks every storage route makes, in order: who is asking (a person's token the
 * gateway forwarded, else the mTLS peer), the bucket exists, the bucket's policies allow
 * the action. Every refusal is audited.
 */
export class Guard {
  constructor(
    private readonly ctx: Pick<ServiceContext, 'audit' | 'name'>,
    private readonly access: BucketAccess,
    private readonly buckets: ReadonlyMap<string, Bucket>,
    private readonly users: UserAuth | undefined,
    readonly metrics: StorageMetrics,
  ) {}

  async caller(req: FastifyRequest): Promise<Caller> {
    const known = callers.get(req);
    if (known) return known;
    let caller: Caller | undefined;
    if (this.users && bearerToken(req.headers)) caller = userCaller(await this.users.authenticate(req));
    else {
      const peer = peerOf(req);
      if (peer) caller = serviceCaller(peer.service, peer.id);
    }
    if (!caller)
      throw new FlotillaError(
        'FLT_UNAUTHENTICATED',
        'storage answers fleet services (mTLS) and signed-in users',
      );
    callers.set(req, caller);
    return caller;
  }

  bucket(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new FlotillaError('FLT_NOT_FOUND', `no bucket ${name}`);
    return bucket;
  }

  /** Refuses (403, audited) unless the policies allow `action` on the bucket or object. */
  async authorize(
    req: FastifyRequest,
    op: StorageOp,
    action: StorageAction,
    bucket: string,
    key?: string,
  ): Promise<Caller> {
    const caller = await this.caller(req);
    const decision = this.access.decide(caller, action, bucket, key, req.raw.socket.remoteAddress);
    if (decision.allowed) return caller;
    this.metrics.requests(op, 'denied');
    await this.ctx.audit({
      actor: caller.actor,
      action: 'storage.deny',
      target: key === undefined ? bucket : `${bucket}/${key}`,
      outcome: 'denied',
      reason: decision.reasons.join('; '),
      details: { action, sourceIp: req.raw.socket.remoteAddress ?? null },
    });
    throw new FlotillaError(
      'FLT_POLICY_DENIED',
      `${action} on ${bucket}${key === undefined ? '' : `/${key}`} is not allowed`,
    );
  }

  /** Audits a refused or failed request (a denial is audited where it is decided). */
  async refused(req: FastifyRequest, op: StorageOp, err: unknown): Promise<void> {
    const e = err instanceof FlotillaError ? err : undefined;
    if (e?.code === 'FLT_POLICY_DENIED') return;
    this.metrics.requests(op, e && e.status < 500 ? 'denied' : 'failure');
    const caller = callers.get(req);
    await this.ctx.audit({
      actor: caller?.actor ?? peerOf(req)?.id ?? 'anonymous',
      action: `storage.${op}`,
      target: req.url.split('?')[0] ?? '',
      outcome: e && e.status < 500 ? 'denied' : 'failure',
      reason: e ? `${e.code}: ${e.message}` : 'internal error',
    });
  }
}
