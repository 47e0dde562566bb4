import type { CompiledPolicies, PolicyInfo } from './compile.js';

export interface LintWarning {
  file: string;
  line: number;
  policyId: string;
  rule:
    | 'permit-all'
    | 'any-principal-any-action'
    | 'unconditional-any-principal'
    | 'unconditional-any-action'
    | 'undeclared-bucket'
    | 'cedar';
  message: string;
}

/**
 * Flags permits broader than least privilege allows. These are warnings, not errors:
 * `flixtube-video-read` legitimately lets every user read, but only with a typed scope.
 */
export function lintPolicies(compiled: CompiledPolicies): LintWarning[] {
  const out: LintWarning[] = [];
  for (const p of compiled.policies) {
    const found = check(p);
    if (found) out.push({ file: p.file, line: p.line, policyId: p.id, ...found });
  }
  for (const w of compiled.warnings) {
    out.push({ file: w.file, line: w.line, policyId: w.policyId ?? '', rule: 'cedar', message: w.message });
  }
  return out;
}

function check(p: PolicyInfo): Pick<LintWarning, 'rule' | 'message'> | undefined {
  if (p.effect !== 'permit') return undefined;
  const { principal, action, resource, conditions } = p.json;
  const anyPrincipal = principal.op === 'All';
  const anyAction = action.op === 'All';
  const unconditional = conditions.length === 0;
  if (anyPrincipal && anyAction && resource.op === 'All' && unconditional) {
    return { rule: 'permit-all', message: 'permits every principal every action on every resource' };
  }
  if (anyPrincipal && anyAction) {
    return {
      rule: 'any-principal-any-action',
      message: 'permits any principal any action; name the actions',
    };
  }
  if (anyPrincipal && unconditional) {
    return {
      rule: 'unconditional-any-principal',
      message:
        'permits any principal (users, clients and services) with no condition; constrain it with `is` or `when`',
    };
  }
  if (anyAction && unconditional) {
    return {
      rule: 'unconditional-any-action',
      message: 'permits any action with no condition; name the actions',
    };
  }
  return undefined;
}

/** A scope constraint's entity, when it names exactly one (`== E` or `in E`). */
function scopeEntity(scope: unknown): { type: string; id: string } | undefined {
  const s = scope as { op?: string; entity?: { type?: unknown; id?: unknown } } | undefined;
  if (
    (s?.op === '==' || s?.op === 'in') &&
    typeof s.entity?.type === 'string' &&
    typeof s.entity.id === 'string'
  )
    return { type: s.entity.type, id: s.entity.id };
  return undefined;
}

/**
 * Grants on a bucket to a service that did not declare the bucket (the fleet file's
 * `services[].buckets`): a permit `principal == Service::"y"` on `Bucket::"x"` (or an
 * object in it) where `declared.y` lacks `x`. Services the map does not know are not judged.
 *
 * @example
 * lintBucketGrants(compiled, { history: ['videos'] });
 */
export function lintBucketGrants(
  compiled: CompiledPolicies,
  declared: Readonly<Record<string, readonly string[]>>,
): LintWarning[] {
  const out: LintWarning[] = [];
  for (const p of compiled.policies) {
    if (p.effect !== 'permit') continue;
    const principal = scopeEntity(p.json.principal);
    const resource = scopeEntity(p.json.resource);
    if (principal?.type !== 'Service' || !resource) continue;
    const buckets = declared[principal.id];
    if (!buckets) continue;
    const bucket =
      resource.type === 'Bucket'
        ? resource.id
        : resource.type === 'Object'
          ? resource.id.split('/')[0]
          : undefined;
    if (bucket === undefined || buckets.includes(bucket)) continue;
    out.push({
      file: p.file,
      line: p.line,
      policyId: p.id,
      rule: 'undeclared-bucket',
      message: `grants Service::"${principal.id}" access to Bucket::"${bucket}", which that service does not declare in the fleet file (services[].buckets)`,
    });
  }
  return out;
}
