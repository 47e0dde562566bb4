import type { CompiledPolicies, LintWarning } from '@flotilla/policy';
import { ALWAYS_KEYS } from '../fleet/load-fleet.js';
import type { Fleet } from '../fleet/schema.js';

/** A lint finding about a key grant nobody declared (the rule `undeclared-key`). */
export type KeyGrantWarning = Omit<LintWarning, 'rule'> & { rule: 'undeclared-key' };

interface EntityJson {
  type: string;
  id: string;
}

/**
 * Grants on `Key::"x"` to `Service::"y"` where the fleet file does not say that y uses x
 * (`services[].keys`): a grant nobody declared is either stale or a key quietly shared.
 * The storage service counts as declaring `storage`, the key every fleet has, and the
 * keys of the buckets it keeps (`buckets[].key`). Policies
 * are read as written: a permit naming one service and one key (`==`), or a key and a
 * `principal in [...]` list.
 */
export function undeclaredKeyGrants(compiled: CompiledPolicies, fleet: Fleet): KeyGrantWarning[] {
  const declared = new Map<string, Set<string>>(fleet.services.map((s) => [s.name, new Set(s.keys ?? [])]));
  const storageKeys = new Set<string>([...ALWAYS_KEYS, ...(fleet.buckets ?? []).flatMap((b) => b.key ?? [])]);
  const uses = (service: string, key: string) =>
    declared.get(service)?.has(key) === true || (service === 'storage' && storageKeys.has(key));
  const out: KeyGrantWarning[] = [];
  for (const p of compiled.policies) {
    if (p.effect !== 'permit') continue;
    const key = entityOf(p.json.resource);
    if (key?.type !== 'Key') continue;
    for (const service of servicesOf(p.json.principal, p.json.conditions)) {
      if (uses(service, key.id)) continue;
      out.push({
        file: p.file,
        line: p.line,
        policyId: p.id,
        rule: 'undeclared-key',
        message: declared.has(service)
          ? `grants Service::"${service}" Key::"${key.id}", but ${service} does not list ${key.id} under keys: in the fleet file`
          : `grants Service::"${service}" Key::"${key.id}", but ${service} is not a service of the fleet file`,
      });
    }
  }
  return out;
}

function entityOf(scope: unknown): EntityJson | undefined {
  const s = scope as { op?: string; entity?: EntityJson };
  return s.op === '==' && s.entity ? s.entity : undefined;
}

/** The services a permit names: `principal == Service::"y"`, or `principal in [Service::…]` in a when clause. */
function servicesOf(principal: unknown, conditions: unknown): string[] {
  const one = entityOf(principal);
  if (one) return one.type === 'Service' ? [one.id] : [];
  const found: string[] = [];
  JSON.stringify(conditions, (k, v: unknown) => {
    const e = (v as { __entity?: EntityJson } | null)?.__entity;
    if (k === 'Value' && e?.type === 'Service') found.push(e.id);
    return v;
  });
  return found;
}
