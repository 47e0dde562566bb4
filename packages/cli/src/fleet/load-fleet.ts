import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { schemaActions } from '@flotilla/policy';
import { Ajv, type ErrorObject } from 'ajv';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { Fleet } from './schema.js';
import { FlotillaError } from '@flotilla/errors';

/** A fleet file problem (`FLT_FLEET_INVALID`), named by its path in the file and its line. */
export class FleetError extends FlotillaError {
  constructor(
    readonly file: string,
    readonly path: string,
    readonly line: number | undefined,
    message: string,
  ) {
    super('FLT_FLEET_INVALID', `${file}${line ? `:${line}` : ''}: ${path ? `${path}: ` : ''}${message}`);
    this.name = 'FleetError';
  }
}

/** Keys every fleet has: storage's server-side encryption key. */
export const ALWAYS_KEYS = ['storage'] as const;

const ajv = new Ajv({ allErrors: false, strict: false, useDefaults: true });
const validate = ajv.compile<Fleet>(Fleet);

/** Where `flotilla up` takes the policies from: `policies/` beside the fleet file. */
const POLICY_SCHEMA = join('policies', 'schema.cedarschema');

/**
 * Reads and validates a fleet file, its routes' actions against the policy schema beside
 * it; any problem is a FleetError naming where it is.
 */
export async function loadFleet(file: string): Promise<Fleet> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new FleetError(
      file,
      '',
      undefined,
      `cannot read the fleet file (${(err as NodeJS.ErrnoException).code})`,
    );
  }
  const schema = await readFile(join(dirname(file), POLICY_SCHEMA), 'utf8').catch(
    (err: NodeJS.ErrnoException) => new Error(`cannot read ${POLICY_SCHEMA} (${err.code ?? err.message})`),
  );
  return parseFleet(text, file, schema, dirname(file));
}

/**
 * Validates a fleet file's text. With the policy schema (its text, or why it could not be
 * read), every route's action is checked against it too.
 */
export function parseFleet(
  text: string,
  file = 'flotilla.yaml',
  policySchema?: string | Error,
  /** With the fleet file's folder, every bucket's policy file must exist there. */
  baseDir?: string,
): Fleet {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0]?.line;
    throw new FleetError(file, '', line, yamlError.message.split('\n')[0] ?? 'invalid YAML');
  }
  const data = doc.toJS() as unknown;
  if (!validate(data)) {
    const error = validate.errors?.[0];
    const segments = pathOf(error);
    const line = lineOf(doc.contents, segments, lineCounter);
    throw new FleetError(file, segments.join('.'), line, describe(error));
  }
  checkReferences(data, file, doc.contents, lineCounter);
  checkBuckets(data, file, doc.contents, lineCounter, baseDir);
  if (policySchema !== undefined) checkRouteActions(data, file, doc.contents, lineCounter, policySchema);
  return data;
}

function pathOf(error: ErrorObject | undefined): string[] {
  if (!error) return [];
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  const extra = (error.params as { additionalProperty?: string }).additionalProperty;
  return extra ? [...segments, extra] : segments;
}

function describe(error: ErrorObject | undefined): string {
  if (!error) return 'invalid';
  const params = error.params as {
    additionalProperty?: string;
    missingProperty?: string;
    allowedValues?: unknown[];
  };
  if (params.additionalProperty) return 'unknown key';
  if (params.missingProperty) return `missing required key "${params.missingProperty}"`;
  return error.message ?? 'invalid';
}

/** The line of the node at `path` (or of its nearest ancestor that exists). */
function lineOf(root: unknown, path: readonly string[], counter: LineCounter): number | undefined {
  let node = root as Node | null | undefined;
  let line = rangeLine(node, counter);
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      if (!pair) break;
      line = rangeLine(pair.key as Node, counter) ?? line;
      node = pair.value as Node | null;
    } else if (isSeq(node)) {
      node = node.items[Number(key)] as Node | undefined;
    } else break;
    line = rangeLine(node, counter) ?? line;
  }
  return line;
}

function rangeLine(node: Node | null | undefined, counter: LineCounter): number | undefined {
  const offset = node?.range?.[0];
  return offset === undefined ? undefined : counter.linePos(offset).line;
}

/** Cross-references a schema cannot express: unique names, calls and routes to known services. */
function checkReferences(fleet: Fleet, file: string, root: unknown, counter: LineCounter): void {
  const names = fleet.services.map((s) => s.name);
  const fail = (path: (string | number)[], message: string): never => {
    const segments = path.map(String);
    throw new FleetError(file, segments.join('.'), lineOf(root, segments, counter), message);
  };
  names.forEach((name, i) => {
    if (names.indexOf(name) !== i) fail(['services', i, 'name'], `service "${name}" is defined twice`);
    // `operator` is the identity of the operator's tools, which the policies let
    // administer auth: a fleet service by that name would hold those powers.
    if (['control', 'auth', 'gateway', 'operator', 'kms', 'storage', 'broker'].includes(name))
      fail(['services', i, 'name'], `"${name}" is a platform service name`);
  });
  fleet.services.forEach((s, i) => {
    s.calls?.forEach((c, j) => {
      if (!names.includes(c.service))
        fail(['services', i, 'calls', j, 'service'], `unknown service "${c.service}"`);
    });
    s.dependsOn?.forEach((d, j) => {
      if (!names.includes(d)) fail(['services', i, 'dependsOn', j], `unknown service "${d}"`);
    });
  });
  checkKeys(fleet, fail);
  checkBus(fleet, fail);
  fleet.gateway.routes.forEach((r, i) => {
    if (!names.includes(r.service))
      fail(['gateway', 'routes', i, 'service'], `unknown service "${r.service}"`);
  });
}

/**
 * The bus declarations hold together: a queue someone sends to has a consumer, and a topic
 * someone subscribes to has a publisher (otherwise messages pile up, or never come: a typo).
 */
function checkBus(fleet: Fleet, fail: (path: (string | number)[], message: string) => never): void {
  const declared = (verb: 'send' | 'consume' | 'publish' | 'subscribe') =>
    new Set(fleet.services.flatMap((s) => s.bus?.[verb] ?? []));
  const consumed = declared('consume');
  const published = declared('publish');
  fleet.services.forEach((s, i) => {
    s.bus?.send?.forEach((q, j) => {
      if (!consumed.has(q))
        fail(
          ['services', i, 'bus', 'send', j],
          `no service consumes queue "${q}": declare it under bus.consume`,
        );
    });
    s.bus?.subscribe?.forEach((t, j) => {
      if (!published.has(t))
        fail(
          ['services', i, 'bus', 'subscribe', j],
          `no service publishes topic "${t}": declare it under bus.publish`,
        );
    });
  });
}

/** Key names are unique, and a service declares only keys the fleet has (`storage` always). */
function checkKeys(fleet: Fleet, fail: (path: (string | number)[], message: string) => never): void {
  const keys = (fleet.keys ?? []).map((k) => k.name);
  keys.forEach((name, i) => {
    if (keys.indexOf(name) !== i) fail(['keys', i, 'name'], `key "${name}" is defined twice`);
  });
  const known = new Set([...keys, ...ALWAYS_KEYS]);
  fleet.services.forEach((s, i) => {
    s.keys?.forEach((k, j) => {
      if (!known.has(k)) fail(['services', i, 'keys', j], `unknown key "${k}": declare it under keys:`);
    });
  });
}

/** Bucket names unique, services' buckets declared, and (with a folder) policy files present. */
function checkBuckets(
  fleet: Fleet,
  file: string,
  root: unknown,
  counter: LineCounter,
  baseDir?: string,
): void {
  const fail = (path: (string | number)[], message: string): never => {
    const segments = path.map(String);
    throw new FleetError(file, segments.join('.'), lineOf(root, segments, counter), message);
  };
  const names = (fleet.buckets ?? []).map((b) => b.name);
  const keys = new Set([...(fleet.keys ?? []).map((k) => k.name), ...ALWAYS_KEYS]);
  (fleet.buckets ?? []).forEach((b, i) => {
    if (names.indexOf(b.name) !== i) fail(['buckets', i, 'name'], `bucket "${b.name}" is defined twice`);
    if (b.policy !== undefined && baseDir !== undefined && !existsSync(resolve(baseDir, b.policy)))
      fail(['buckets', i, 'policy'], `the policy file ${b.policy} does not exist`);
    if (b.key !== undefined && !keys.has(b.key))
      fail(['buckets', i, 'key'], `unknown key "${b.key}": declare it under keys:`);
  });
  fleet.services.forEach((s, i) => {
    s.buckets?.forEach((b, j) => {
      if (!names.includes(b)) fail(['services', i, 'buckets', j], `unknown bucket "${b}"`);
    });
  });
}

/**
 * A route's action must be one the policy schema declares for `Route`: the gateway decides
 * every authenticated request on it (`http:<METHOD>` for a route without one; HEAD is GET),
 * and Cedar denies an action it does not declare, so a typo would refuse every request
 * while looking like security. A public route is never decided on, so it names no action.
 */
function checkRouteActions(
  fleet: Fleet,
  file: string,
  root: unknown,
  counter: LineCounter,
  schema: string | Error,
): void {
  const fail = (path: (string | number)[], message: string): never => {
    const segments = path.map(String);
    throw new FleetError(file, segments.join('.'), lineOf(root, segments, counter), message);
  };
  let declared: Set<string> | undefined;
  fleet.gateway.routes.forEach((r, i) => {
    const at = ['gateway', 'routes', i];
    if (r.auth === 'public') {
      if (r.action !== undefined)
        fail([...at, 'action'], 'a public route is never decided on: drop the action or set auth: required');
      return;
    }
    if (schema instanceof Error) return fail(at, `${schema.message}: the route's action cannot be checked`);
    declared ??= routeActions(schema, (message) => fail(at, message));
    const action = r.action ?? `http:${r.method === 'HEAD' ? 'GET' : r.method}`;
    if (!declared.has(action))
      fail(
        [...at, r.action === undefined ? 'method' : 'action'],
        `action "${action}" is not declared for Route in ${POLICY_SCHEMA}`,
      );
  });
}

function routeActions(schema: string, fail: (message: string) => never): Set<string> {
  try {
    return new Set(
      schemaActions(schema)
        .filter((a) => a.type === 'Action' && a.resourceTypes.includes('Route'))
        .map((a) => a.id),
    );
  } catch (err) {
    return fail(`${POLICY_SCHEMA} does not parse (${(err as Error).message})`);
  }
}
