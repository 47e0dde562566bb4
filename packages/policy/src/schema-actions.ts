import * as cedar from './cedar.js';
import { toIssue } from './compile.js';
import { PolicyError } from './errors.js';
import { LineIndex } from './source-map.js';

/** One action a schema declares, and the entity types it applies to. */
export interface SchemaAction {
  /** The action entity type: `Action`, or `<Namespace>::Action` in a namespace. */
  readonly type: string;
  /** The action id, e.g. `video:Read`. */
  readonly id: string;
  /** Principal types the action applies to, namespace-qualified (`User`, `App::User`). */
  readonly principalTypes: readonly string[];
  /** Resource types the action applies to, namespace-qualified (`Route`, `App::Video`). */
  readonly resourceTypes: readonly string[];
}

/**
 * The actions a Cedar schema declares, with what each applies to: what a request may ask
 * (Cedar validates requests against it, so an action missing here, or asked about an
 * entity type it does not apply to, is always denied). Tools check configuration with it
 * at load, e.g. that every gateway route names an action that applies to `Route`.
 * Throws `PolicyError` (`POLICY_SCHEMA_INVALID`) when the schema does not parse.
 *
 * @example
 * const routeActions = schemaActions(schemaText)
 *   .filter((a) => a.type === 'Action' && a.resourceTypes.includes('Route'))
 *   .map((a) => a.id); // → ['http:GET', …, 'video:Read', …]
 */
export function schemaActions(schema: string, schemaFile = 'schema.cedarschema'): SchemaAction[] {
  const answer = cedar.schemaToJson(schema);
  if (answer.type === 'failure') {
    const index = new LineIndex(schema);
    throw new PolicyError('FLT_POLICY_SCHEMA_INVALID', undefined, {
      issues: answer.errors.map((e) => toIssue(e, schemaFile, index, 0)),
    });
  }
  const out: SchemaAction[] = [];
  for (const [namespace, definition] of Object.entries(answer.json)) {
    const qualify = (name: string) =>
      namespace === '' || name.includes('::') ? name : `${namespace}::${name}`;
    for (const [id, action] of Object.entries(definition.actions)) {
      out.push(
        Object.freeze({
          type: qualify('Action'),
          id,
          principalTypes: Object.freeze((action.appliesTo?.principalTypes ?? []).map(qualify)),
          resourceTypes: Object.freeze((action.appliesTo?.resourceTypes ?? []).map(qualify)),
        }),
      );
    }
  }
  return out;
}
