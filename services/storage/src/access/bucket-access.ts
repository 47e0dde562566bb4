import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Authorizer,
  type Decision,
  type DecisionRequest,
  type EntityInput,
  formatIssue,
  PolicyError,
  compilePolicies,
  loadPolicies,
  type PolicyInfo,
} from '@flotilla/policy';
import { ConfigError, type PolicyDecider } from '@flotilla/kit';
import type { Bucket } from '../buckets.js';
import { type Caller, cedarIp } from './caller.js';

export type StorageAction =
  'storage:GetObject' | 'storage:PutObject' | 'storage:DeleteObject' | 'storage:ListBucket';

export interface AccessDecision {
  allowed: boolean;
  /** Ids of the deciding policies, or why nothing decided. */
  reasons: string[];
}

/** A bucket's own policies, compiled against the fleet's schema at start. */
interface BucketPolicies {
  text: string;
  file: string;
  engine: Authorizer;
}

/**
 * Decides storage actions: the fleet's policies in force (`ctx.policy`, the signed bundle)
 * together with the bucket's own policy file, as one set would — any matching `forbid`
 * in either denies, otherwise a `permit` in either allows, otherwise deny (default deny,
 * any evaluation error denies).
 */
export class BucketAccess {
  private constructor(
    private readonly fleet: () => PolicyDecider | undefined,
    private readonly own: ReadonlyMap<string, BucketPolicies>,
    /** The policy directory's policies about storage actions (what `flotilla storage policy` shows). */
    private readonly fleetStorage: readonly PolicyInfo[],
  ) {}

  /**
   * Reads and validates every bucket's policy file against the fleet's schema; one that
   * does not validate stops the service with `file:line: message`.
   */
  static async open(
    buckets: readonly Bucket[],
    policyDir: string,
    fleet: () => PolicyDecider | undefined,
  ): Promise<BucketAccess> {
    const schema = await readFile(join(policyDir, 'schema.cedarschema'), 'utf8').catch(() => {
      throw new ConfigError('FLOTILLA_POLICY_DIR', `${policyDir} has no schema.cedarschema`);
    });
    const own = new Map<string, BucketPolicies>();
    for (const bucket of buckets) {
      if (!bucket.policyFile) continue;
      const file = bucket.policyFile;
      const text = await readFile(file, 'utf8').catch(() => {
        throw new ConfigError(
          'STORAGE_BUCKETS_FILE',
          `${file}: the policy file of bucket ${bucket.name} cannot be read`,
        );
      });
      try {
        const compiled = compilePolicies({ schema, files: { [file]: text } });
        own.set(bucket.name, { text, file, engine: new Authorizer(compiled) });
      } catch (err) {
        if (err instanceof PolicyError && err.issues.length > 0)
          throw new ConfigError('STORAGE_BUCKETS_FILE', err.issues.map(formatIssue).join('\n'), {
            cause: err,
          });
        throw err;
      }
    }
    const dirPolicies = await loadPolicies({ dir: policyDir }).then(
      (c) => c.policies.filter((p) => p.text.includes('storage:')),
      () => [],
    );
    return new BucketAccess(fleet, own, dirPolicies);
  }

  policyOf(bucket: string): { text: string; file: string } | undefined {
    const p = this.own.get(bucket);
    return p && { text: p.text, file: p.file };
  }

  /** The fleet policies that concern storage (for `flotilla storage policy`). */
  fleetPolicies(bucket: string): Array<{ id: string; text: string }> {
    return this.fleetStorage
      .filter((p) => p.text.includes(`Bucket::"${bucket}"`) || !p.text.includes('Bucket::"'))
      .map(({ id, text }) => ({ id, text }));
  }

  decide(
    caller: Caller,
    action: StorageAction,
    bucket: string,
    key: string | undefined,
    sourceIp: string | undefined,
  ): AccessDecision {
    const request = requestOf(caller, action, bucket, key, sourceIp);
    const fleet = this.fleet();
    const decisions: Decision[] = [];
    if (fleet) decisions.push(fleet.decide(request));
    const own = this.own.get(bucket);
    if (own) decisions.push(own.engine.decide(request));
    // A policy that failed to evaluate denies, as the KMS and the bus do: Cedar skips it,
    // and a skipped forbid must not turn into an allow.
    const forbids = decisions.filter(
      (d) => d.errors.length > 0 || (d.decision === 'deny' && d.reasons.length > 0),
    );
    if (forbids.length > 0)
      return { allowed: false, reasons: forbids.flatMap((d) => [...d.reasons, ...d.errors]) };
    const permit = decisions.find((d) => d.decision === 'allow');
    if (permit) return { allowed: true, reasons: [...permit.reasons] };
    return {
      allowed: false,
      reasons: fleet ? ['no policy permits it'] : ['no fleet policies in force (no workload identity)'],
    };
  }
}

function requestOf(
  caller: Caller,
  action: StorageAction,
  bucket: string,
  key: string | undefined,
  sourceIp: string | undefined,
): DecisionRequest {
  const bucketUid = { type: 'Bucket', id: bucket };
  const entities: EntityInput[] = [caller.entity, { uid: bucketUid }];
  let resource: { type: string; id: string } = bucketUid;
  if (key !== undefined) {
    resource = { type: 'Object', id: `${bucket}/${key}` };
    entities.push({ uid: resource, attrs: { bucket: { __entity: bucketUid }, key }, parents: [bucketUid] });
  }
  const context: Record<string, unknown> = {
    mfa: caller.mfa,
    // Whole seconds: the decision cache keys on the context.
    time: { __extn: { fn: 'datetime', arg: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString() } },
  };
  const ip = cedarIp(sourceIp);
  if (ip) context.sourceIp = { __extn: { fn: 'ip', arg: ip } };
  return {
    principal: caller.entity.uid,
    action: { type: 'Action', id: action },
    resource,
    context,
    entities,
  };
}
