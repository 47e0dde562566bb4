import type { CedarValueJson } from './cedar.js';
import * as cedar from './cedar.js';
import { type CompiledPolicies, compilePolicies, type PolicyInfo, type PolicySources } from './compile.js';
import {
  type EntityInput,
  type EntityRef,
  EntityStore,
  indexEntities,
  toUid,
  type Uid,
  uidKey,
  valueRefs,
} from './entities.js';
import { LruCache } from './lru.js';
import { type PreparedSet, prepare } from './prepared.js';
import { stableJson } from './stable-json.js';

/** What is asked: may `principal` do `action` on `resource`? */
export interface DecisionRequest {
  principal: EntityRef;
  /** `Action::"video:Read"`, `{ type: 'Action', id: 'video:Read' }` or just `video:Read`. */
  action: EntityRef;
  resource: EntityRef;
  context?: Record<string, unknown>;
  /** Entities for this request only; they take precedence over the engine's store. */
  entities?: readonly EntityInput[];
}

export interface Decision {
  readonly decision: 'allow' | 'deny';
  /** Ids of the deciding policies: the permits that allowed, or the forbids that denied. */
  readonly reasons: readonly string[];
  /** Why the request could not be evaluated cleanly; any error means deny. */
  readonly errors: readonly string[];
}

/** One decision log record (see README "Decision log"). */
export interface DecisionLogEntry {
  time: string;
  principal: string;
  action: string;
  resource: string;
  decision: 'allow' | 'deny';
  policies: readonly string[];
  errors: readonly string[];
  /** The engine's policy set version (increments on every reload). */
  policyVersion: number;
  cached: boolean;
}

export interface AuthorizerOptions {
  /** Called for every deny, and for every allow when `logAllows` is set. Must not throw. */
  onDecision?: (entry: DecisionLogEntry) => void;
  logAllows?: boolean;
  /** Bounded decision cache; `false` turns it off. Default `{ max: 10_000 }`. */
  cache?: { max: number } | false;
  /** Entities the engine keeps between requests (users, roles, buckets...). */
  entities?: readonly EntityInput[];
  /** The version of the signed bundle `policies` came from (see `bundleVersion`). */
  bundleVersion?: number;
}

const EMPTY: readonly string[] = Object.freeze([]);

/**
 * The policy decision point: Cedar policies prepared once, evaluated in-process.
 * Default deny; any error (unknown type or action, a missing attribute, an evaluation
 * error in any policy) also denies, with the error named in `errors`.
 *
 * @example
 * const engine = new Authorizer(await loadPolicies({ dir: 'policies' }), { onDecision: log });
 * engine.decide({ principal: 'User::"alice"', action: 'video:Delete', resource: 'Video::"v1"', entities });
 * // → { decision: 'deny', reasons: ['flixtube-delete-others-needs-mfa'], errors: [] }
 */
export class Authorizer {
  #set: PreparedSet;
  #version = 1;
  #bundleVersion = 0;
  readonly #store = new EntityStore();
  readonly #cache: LruCache<Decision> | undefined;
  readonly #onDecision: ((entry: DecisionLogEntry) => void) | undefined;
  readonly #logAllows: boolean;

  constructor(policies: CompiledPolicies | PolicySources, options: AuthorizerOptions = {}) {
    this.#set = prepare(isCompiled(policies) ? policies : compilePolicies(policies));
    this.#cache = options.cache === false ? undefined : new LruCache(options.cache?.max ?? 10_000);
    this.#onDecision = options.onDecision;
    this.#logAllows = options.logAllows ?? false;
    if (options.entities) this.#store.upsert(options.entities);
    this.#bundleVersion = options.bundleVersion ?? 0;
  }

  /** Increments on every successful reload; part of every cache key. */
  get version(): number {
    return this.#version;
  }

  /** The version of the last signed bundle applied (0 when none). */
  get bundleVersion(): number {
    return this.#bundleVersion;
  }

  get policies(): readonly PolicyInfo[] {
    return this.#set.compiled.policies;
  }

  get compiled(): CompiledPolicies {
    return this.#set.compiled;
  }

  policy(id: string): PolicyInfo | undefined {
    return this.#set.byId.get(id);
  }

  /**
   * The engine's long-lived entities; changing them invalidates cached decisions (their
   * `version` increments with every change).
   */
  get entities(): Pick<EntityStore, 'upsert' | 'remove' | 'clear' | 'size' | 'version'> {
    return this.#store;
  }

  /**
   * Replaces the policy set. Validates and prepares the new set first; if that throws,
   * the engine keeps deciding with the previous set.
   */
  reload(next: CompiledPolicies | PolicySources, opts: { bundleVersion?: number } = {}): void {
    const prepared = prepare(isCompiled(next) ? next : compilePolicies(next));
    this.#set = prepared;
    this.#version += 1;
    if (opts.bundleVersion !== undefined) this.#bundleVersion = opts.bundleVersion;
    this.#cache?.clear();
  }

  decide(request: DecisionRequest): Decision {
    // The cache is consulted before any parsing: a hit costs one key build and one lookup.
    const key = this.#cacheKey(request);
    const hit = key === undefined ? undefined : this.#cache?.get(key);
    if (hit) {
      if (this.#onDecision && (hit.decision === 'deny' || this.#logAllows)) {
        const uid = (ref: EntityRef, type?: string) => {
          try {
            return uidKey(toUid(ref, type));
          } catch {
            return describe(ref);
          }
        };
        this.#log(uid(request.principal), uid(request.action, 'Action'), uid(request.resource), hit, true);
      }
      return hit;
    }
    let principal: Uid;
    let action: Uid;
    let resource: Uid;
    try {
      principal = toUid(request.principal);
      action = toUid(request.action, 'Action');
      resource = toUid(request.resource);
    } catch (err) {
      const result = deny([(err as Error).message]);
      this.#log(
        describe(request.principal),
        describe(request.action),
        describe(request.resource),
        result,
        false,
      );
      return result;
    }
    const ak = uidKey(action);
    const result = this.#evaluate(principal, action, resource, ak, request);
    if (key !== undefined && result.cacheable) this.#cache?.set(key, result.decision);
    this.#log(uidKey(principal), ak, uidKey(resource), result.decision, false);
    return result.decision;
  }

  /**
   * The yes/no form for services checking their own access (IAM).
   *
   * @example
   * if (!engine.can('Service::"video-storage"', 'storage:PutObject', 'Bucket::"videos"')) throw forbidden();
   */
  can(
    principal: EntityRef,
    action: EntityRef,
    resource: EntityRef,
    context?: Record<string, unknown>,
    entities?: readonly EntityInput[],
  ): boolean {
    const req: DecisionRequest = { principal, action, resource };
    if (context) req.context = context;
    if (entities) req.entities = entities;
    return this.decide(req).decision === 'allow';
  }

  // Key on the full request as given, the entity store version and the policy set version.
  // Length prefixes keep the parts unambiguous whatever characters ids contain.
  #cacheKey(request: DecisionRequest): string | undefined {
    if (!this.#cache) return undefined;
    const p = refKey(request.principal);
    const a = refKey(request.action);
    const r = refKey(request.resource);
    const ctx = request.context === undefined ? '' : stableJson(request.context);
    const ents = request.entities === undefined ? '' : stableJson(request.entities);
    if (p === undefined || a === undefined || r === undefined || ctx === undefined || ents === undefined) {
      return undefined;
    }
    return `${this.#version}|${this.#store.version}|${p}${a}${r}${ctx.length}:${ctx}${ents}`;
  }

  #evaluate(
    principal: Uid,
    action: Uid,
    resource: Uid,
    actionKey: string,
    request: DecisionRequest,
  ): { decision: Decision; cacheable: boolean } {
    const set = this.#set;
    try {
      const partition = set.partitionFor(actionKey, principal, resource);
      const overlay = request.entities ? indexEntities(request.entities) : undefined;
      const context = (request.context ?? {}) as Record<string, CedarValueJson>;
      const roots = [uidKey(principal), uidKey(resource), ...partition.literals];
      if (request.context) roots.push(...valueRefs(context));
      const missing = [principal, resource].filter(
        (u) => set.mustExist.has(u.type) && !overlay?.has(uidKey(u)) && !this.#store.get(uidKey(u)),
      );
      if (missing.length > 0) {
        const names = missing.map((u) => `${uidKey(u)} (${u.type} has required attributes)`);
        return { decision: deny([`unknown entity ${names.join(', ')}`]), cacheable: true };
      }
      const answer = cedar.statefulIsAuthorized({
        principal,
        action,
        resource,
        context,
        entities: this.#store.slice(roots, overlay),
        preparsedPolicySetId: partition.cedarId,
        preparsedSchemaName: set.schemaId,
        validateRequest: true,
      });
      if (answer.type === 'failure')
        return {
          decision: deny(answer.errors.map((e) => e.message)),
          cacheable: true,
        };
      const { decision, diagnostics } = answer.response;
      const errors = diagnostics.errors.map((e) => `policy ${e.policyId}: ${e.error.message}`);
      // Never allow on error: an erroring forbid is skipped by Cedar, which could let a
      // permit through that the forbid was written to stop.
      if (errors.length > 0) {
        const forbids = diagnostics.reason.filter((id) => set.byId.get(id)?.effect === 'forbid');
        return {
          decision: freeze('deny', decision === 'deny' ? forbids : [], errors),
          cacheable: true,
        };
      }
      return {
        decision: freeze(decision, diagnostics.reason, EMPTY),
        cacheable: true,
      };
    } catch (err) {
      // Malformed input we could not normalise, or an unexpected engine failure.
      return {
        decision: deny([(err as Error).message ?? String(err)]),
        cacheable: false,
      };
    }
  }

  #log(principal: string, action: string, resource: string, result: Decision, cached: boolean): void {
    if (!this.#onDecision || (result.decision === 'allow' && !this.#logAllows)) return;
    try {
      this.#onDecision({
        time: new Date().toISOString(),
        principal,
        action,
        resource,
        decision: result.decision,
        policies: result.reasons,
        errors: result.errors,
        policyVersion: this.#version,
        cached,
      });
    } catch {
      // A failing log sink must not turn into a failed (or different) decision.
    }
  }
}

function refKey(ref: unknown): string | undefined {
  if (typeof ref === 'string') return `${ref.length}:${ref}`;
  if (!ref || typeof ref !== 'object') return undefined;
  const { type, id } = ref as { type?: unknown; id?: unknown };
  return typeof type === 'string' && typeof id === 'string'
    ? `o${type.length}:${type}${id.length}:${id}`
    : undefined;
}

function describe(ref: unknown): string {
  return typeof ref === 'string' ? ref : (JSON.stringify(ref) ?? 'undefined');
}

function isCompiled(p: CompiledPolicies | PolicySources): p is CompiledPolicies {
  return Array.isArray((p as CompiledPolicies).policies);
}

function freeze(decision: 'allow' | 'deny', reasons: readonly string[], errors: readonly string[]): Decision {
  return Object.freeze({
    decision,
    reasons: Object.freeze([...reasons]),
    errors: Object.freeze([...errors]),
  });
}

function deny(errors: readonly string[]): Decision {
  return freeze('deny', EMPTY, errors);
}
