import { createHash } from 'node:crypto';
import * as cedar from './cedar.js';
import type { PolicyJson, SchemaJson } from './cedar.js';
import type { CompiledPolicies, PolicyInfo } from './compile.js';
import { type Uid, uidKey } from './entities.js';
import { PolicyError } from './errors.js';

/** One Cedar policy set prepared (parsed once, kept inside the Wasm module). */
export interface Partition {
  readonly cedarId: string;
  /** Entities named literally in these policies (e.g. `Role::"admin"`), sent with each call. */
  readonly literals: readonly string[];
}

interface ActionPolicies {
  readonly policies: readonly PolicyInfo[];
  /** Entities named in `principal ==` / `resource ==` scopes of these policies. */
  readonly namedPrincipals: ReadonlySet<string>;
  readonly namedResources: ReadonlySet<string>;
}

/**
 * A compiled set, prepared for fast decisions. Cedar's per-call cost grows with the
 * number of policies it is handed (about 5 µs each in Wasm), so each request gets only
 * the policies whose scope can match it: same action (or a group holding it), and a
 * principal and resource scope that is not ruled out by type or by `==`. The decision is
 * the same, because a policy's scope is a conjunct of its condition.
 */
export class PreparedSet {
  readonly #byAction: ReadonlyMap<string, ActionPolicies>;
  readonly #fallback: ActionPolicies;
  readonly #partitions = new Map<string, Partition>();

  constructor(
    readonly compiled: CompiledPolicies,
    readonly schemaId: string,
    byAction: ReadonlyMap<string, ActionPolicies>,
    fallback: ActionPolicies,
    readonly byId: ReadonlyMap<string, PolicyInfo>,
    /** Entity types with required attributes: a request naming one must supply it. */
    readonly mustExist: ReadonlySet<string>,
  ) {
    this.#byAction = byAction;
    this.#fallback = fallback;
  }

  /** The prepared subset for one request; built on first use, then memoised. */
  partitionFor(actionKey: string, principal: Uid, resource: Uid): Partition {
    // Actions the schema does not know get the action-wildcard policies; Cedar then
    // refuses the request with a clear error.
    const group = this.#byAction.get(actionKey) ?? this.#fallback;
    const pk = uidKey(principal);
    const rk = uidKey(resource);
    const memo = [
      actionKey,
      principal.type,
      group.namedPrincipals.has(pk) ? pk : '',
      resource.type,
      group.namedResources.has(rk) ? rk : '',
    ].join('\u0000');
    let partition = this.#partitions.get(memo);
    if (!partition) {
      const members = group.policies.filter(
        (p) => scopeMayMatch(p.json.principal, principal, pk) && scopeMayMatch(p.json.resource, resource, rk),
      );
      partition = preparePartition(members);
      // Bounded: the number of distinct subsets is small, but the memo key space is not.
      if (this.#partitions.size >= 10_000) this.#partitions.clear();
      this.#partitions.set(memo, partition);
    }
    return partition;
  }
}

const LITERAL = /([A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)::("(?:[^"\\]|\\.)*")/g;

export function prepare(compiled: CompiledPolicies): PreparedSet {
  const { schema } = compiled.sources;
  const schemaId = `flotilla-schema:${hash(schema)}`;
  check(cedar.preparseSchema(schemaId, schema), 'schema');
  const json = cedar.schemaToJson(schema);
  if (json.type === 'failure') throw new PolicyError('FLT_POLICY_SCHEMA_INVALID', json.errors[0]?.message);
  const ancestors = actionAncestors(json.json);
  const byAction = new Map<string, ActionPolicies>();
  for (const [action, ups] of ancestors) {
    byAction.set(action, actionPolicies(compiled.policies.filter((p) => appliesTo(p, action, ups))));
  }
  const fallback = actionPolicies(compiled.policies.filter((p) => p.json.action.op === 'All'));
  const byId = new Map(compiled.policies.map((p) => [p.id, p]));
  const prepared = new PreparedSet(
    compiled,
    schemaId,
    byAction,
    fallback,
    byId,
    typesWithRequiredAttributes(json.json),
  );
  // Prepare the whole set once so a Cedar-level problem surfaces at load, not at the first decision.
  preparePartition(compiled.policies);
  return prepared;
}

function actionPolicies(policies: PolicyInfo[]): ActionPolicies {
  const named = (pick: (p: PolicyInfo) => PolicyJson['principal']) =>
    new Set(
      policies.flatMap((p) => {
        const scope = pick(p);
        return scope.op === '==' && 'entity' in scope ? [uidKey(uidOf(scope.entity))] : [];
      }),
    );
  return {
    policies,
    namedPrincipals: named((p) => p.json.principal),
    namedResources: named((p) => p.json.resource),
  };
}

function scopeMayMatch(scope: PolicyJson['principal'], uid: Uid, key: string): boolean {
  switch (scope.op) {
    case 'All':
    case 'in': // needs the entity hierarchy: left to Cedar
      return true;
    case '==':
      return !('entity' in scope) || uidKey(uidOf(scope.entity)) === key;
    case 'is':
      return scope.entity_type === uid.type;
  }
}

function appliesTo(p: PolicyInfo, action: string, ancestors: ReadonlySet<string>): boolean {
  const scope = p.json.action;
  if (scope.op === 'All') return true;
  if (scope.op === '==') return 'entity' in scope && uidKey(uidOf(scope.entity)) === action;
  const targets = 'entities' in scope ? scope.entities : [scope.entity];
  return targets.some((t) => {
    const key = uidKey(uidOf(t));
    return key === action || ancestors.has(key);
  });
}

function uidOf(ref: { __entity: { type: string; id: string } } | { type: string; id: string }) {
  return '__entity' in ref ? ref.__entity : ref;
}

// Content-addressed ids: Cedar keeps prepared sets for the life of the process, so
// identical sets (another engine, a reload of the same files) reuse one entry.
function preparePartition(policies: readonly PolicyInfo[]): Partition {
  const record = Object.fromEntries(policies.map((p) => [p.id, p.text]));
  const cedarId = `flotilla-policies:${hash(JSON.stringify(record))}`;
  check(cedar.preparsePolicySet(cedarId, { staticPolicies: record }), 'policy set');
  const literals = new Set<string>();
  for (const p of policies) {
    for (const m of p.text.matchAll(LITERAL)) {
      const type = m[1] ?? '';
      if (type === 'Action' || type.endsWith('::Action')) continue;
      try {
        literals.add(uidKey({ type, id: JSON.parse(m[2] ?? '""') as string }));
      } catch {
        // Not a JSON-compatible string literal (e.g. inside a comment): not an entity.
      }
    }
  }
  return { cedarId, literals: [...literals] };
}

/** Every action the schema declares, with the transitive set of groups it belongs to. */
function actionAncestors(schema: SchemaJson<string>): Map<string, Set<string>> {
  const parents = new Map<string, string[]>();
  for (const [ns, def] of Object.entries(schema)) {
    const actionType = ns ? `${ns}::Action` : 'Action';
    for (const [id, action] of Object.entries(def.actions)) {
      const ups = (action.memberOf ?? []).map((m) => uidKey({ type: m.type ?? actionType, id: m.id }));
      parents.set(uidKey({ type: actionType, id }), ups);
    }
  }
  const out = new Map<string, Set<string>>();
  for (const action of parents.keys()) {
    const seen = new Set<string>();
    const stack = [...(parents.get(action) ?? [])];
    while (stack.length > 0) {
      const next = stack.pop() as string;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...(parents.get(next) ?? []));
    }
    out.set(action, seen);
  }
  return out;
}

// Cedar treats an entity missing from the request as one with no attributes and no
// parents, so `principal is User` would hold for a user nobody loaded. For types whose
// schema requires attributes, an absent entity is a caller bug: deny and say so.
function typesWithRequiredAttributes(schema: SchemaJson<string>): Set<string> {
  const out = new Set<string>();
  for (const [ns, def] of Object.entries(schema)) {
    for (const [name, type] of Object.entries(def.entityTypes)) {
      const shape =
        'shape' in type ? (type.shape as { attributes?: Record<string, { required?: boolean }> }) : {};
      if (Object.values(shape.attributes ?? {}).some((a) => a.required !== false))
        out.add(ns ? `${ns}::${name}` : name);
    }
  }
  return out;
}

function check(answer: ReturnType<typeof cedar.preparseSchema>, what: string): void {
  if (answer.type === 'failure') {
    throw new PolicyError(
      'FLT_POLICY_INVALID',
      `cannot prepare ${what}: ${answer.errors[0]?.message ?? 'unknown error'}`,
    );
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
