import type { CedarValueJson, EntityJson } from './cedar.js';
import { PolicyError } from './errors.js';

/** An entity reference: `{ type: 'User', id: 'alice' }` or the Cedar literal `User::"alice"`. */
export type EntityRef = string | { readonly type: string; readonly id: string };

/** An entity as callers write it; `uid` and `parents` accept either reference form. */
export interface EntityInput {
  uid: EntityRef;
  attrs?: Record<string, unknown>;
  parents?: readonly EntityRef[];
}

export interface Uid {
  readonly type: string;
  readonly id: string;
}

const TYPE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$/;
const LITERAL = /^([A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)::("(?:[^"\\]|\\.)*")$/;

/**
 * Parses a reference. With `defaultType`, a bare string is an id of that type, so an
 * action can be written `video:Read` for `Action::"video:Read"`.
 */
export function toUid(ref: EntityRef | undefined, defaultType?: string): Uid {
  if (typeof ref === 'string') {
    const m = LITERAL.exec(ref);
    if (m?.[1] && m[2]) return { type: m[1], id: unquote(m[2], ref) };
    if (defaultType && ref.length > 0 && !ref.includes('::"')) return { type: defaultType, id: ref };
    throw new PolicyError(
      'FLT_POLICY_ENTITY_INVALID',
      `malformed entity reference ${JSON.stringify(ref)} (want Type::"id")`,
    );
  }
  if (ref && typeof ref === 'object' && typeof ref.type === 'string' && typeof ref.id === 'string') {
    if (!TYPE_NAME.test(ref.type))
      throw new PolicyError('FLT_POLICY_ENTITY_INVALID', `malformed entity type "${ref.type}"`);
    return { type: ref.type, id: ref.id };
  }
  throw new PolicyError(
    'FLT_POLICY_ENTITY_INVALID',
    `malformed entity reference ${JSON.stringify(ref) ?? 'undefined'}`,
  );
}

function unquote(quoted: string, whole: string): string {
  try {
    // Cedar string escapes are a subset of JSON's for ids in practice (\" and \\).
    return JSON.parse(quoted) as string;
  } catch {
    throw new PolicyError('FLT_POLICY_ENTITY_INVALID', `malformed entity reference ${JSON.stringify(whole)}`);
  }
}

/** The canonical text of a reference, `User::"alice"`; also the store and cache key. */
export function uidKey(uid: Uid): string {
  return `${uid.type}::${JSON.stringify(uid.id)}`;
}

/** Normalises an entity to Cedar's JSON form and lists the entities it refers to. */
export function toEntityJson(input: EntityInput): EntityJson {
  if (!input || typeof input !== 'object')
    throw new PolicyError('FLT_POLICY_ENTITY_INVALID', 'an entity must be an object');
  const uid = toUid(input.uid);
  if (
    input.attrs !== undefined &&
    (typeof input.attrs !== 'object' || Array.isArray(input.attrs) || !input.attrs)
  ) {
    throw new PolicyError('FLT_POLICY_ENTITY_INVALID', `attrs of ${uidKey(uid)} must be an object`);
  }
  const parents: unknown = input.parents ?? [];
  if (!Array.isArray(parents)) {
    throw new PolicyError('FLT_POLICY_ENTITY_INVALID', `parents of ${uidKey(uid)} must be a list`);
  }
  return {
    uid: { type: uid.type, id: uid.id },
    attrs: (input.attrs ?? {}) as Record<string, CedarValueJson>,
    parents: parents.map((p) => {
      const u = toUid(p as EntityRef);
      return { type: u.type, id: u.id };
    }),
  };
}

/** Keys of every entity an entity points at: its parents and entity-valued attributes. */
export function referencedKeys(entity: EntityJson): string[] {
  const out: string[] = [];
  for (const p of entity.parents) out.push(uidKey(refUid(p)));
  collectRefs(entity.attrs, out);
  return out;
}

/** Keys of the entities a value (e.g. a request context) refers to. */
export function valueRefs(value: unknown): string[] {
  const out: string[] = [];
  collectRefs(value, out);
  return out;
}

function refUid(ref: EntityJson['uid']): Uid {
  return '__entity' in ref ? ref.__entity : ref;
}

// Finds `{ __entity: {type,id} }` and the schema-implicit `{ type, id }` form. Treating
// a record that merely looks like a reference as one only adds an entity to a slice.
function collectRefs(value: unknown, out: string[]): void {
  if (Array.isArray(value)) {
    for (const v of value) collectRefs(v, out);
    return;
  }
  if (!value || typeof value !== 'object') return;
  const rec = value as Record<string, unknown>;
  const escaped = rec.__entity as Record<string, unknown> | undefined;
  const candidate = escaped ?? rec;
  if (typeof candidate.type === 'string' && typeof candidate.id === 'string') {
    out.push(uidKey({ type: candidate.type, id: candidate.id }));
    if (escaped) return;
  }
  if ('__extn' in rec) return;
  for (const v of Object.values(rec)) collectRefs(v, out);
}

interface StoredEntity {
  json: EntityJson;
  refs: string[];
}

/**
 * The entities an engine knows, indexed so that a decision sends Cedar only the slice
 * it can reach: parsing entities dominates Cedar's per-call cost, so sending 3 instead
 * of 1,000 is most of the speed.
 */
export class EntityStore {
  readonly #byKey = new Map<string, StoredEntity>();
  #version = 0;

  get version(): number {
    return this.#version;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** Adds or replaces entities. */
  upsert(entities: Iterable<EntityInput>): void {
    for (const e of entities) {
      const json = toEntityJson(e);
      this.#byKey.set(uidKey(refUid(json.uid)), {
        json,
        refs: referencedKeys(json),
      });
    }
    this.#version += 1;
  }

  remove(refs: Iterable<EntityRef>): void {
    for (const r of refs) this.#byKey.delete(uidKey(toUid(r)));
    this.#version += 1;
  }

  clear(): void {
    this.#byKey.clear();
    this.#version += 1;
  }

  get(key: string): StoredEntity | undefined {
    return this.#byKey.get(key);
  }

  /**
   * Every entity reachable from `roots` through parents and entity-valued attributes,
   * looked up first in `overlay` (the request's own entities), then in the store.
   */
  slice(roots: readonly string[], overlay?: ReadonlyMap<string, StoredEntity>): EntityJson[] {
    const seen = new Set<string>();
    const out: EntityJson[] = [];
    const stack = [...roots];
    while (stack.length > 0) {
      const key = stack.pop() as string;
      if (seen.has(key)) continue;
      seen.add(key);
      const found = overlay?.get(key) ?? this.#byKey.get(key);
      if (!found) continue;
      out.push(found.json);
      for (const r of found.refs) if (!seen.has(r)) stack.push(r);
    }
    return out;
  }
}

/** Indexes a request's own entities for `EntityStore.slice`. */
export function indexEntities(entities: readonly EntityInput[]): Map<string, StoredEntity> {
  const map = new Map<string, StoredEntity>();
  for (const e of entities) {
    const json = toEntityJson(e);
    map.set(uidKey(refUid(json.uid)), { json, refs: referencedKeys(json) });
  }
  return map;
}
