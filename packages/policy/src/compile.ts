import type { DetailedError, PolicyJson } from './cedar.js';
import * as cedar from './cedar.js';
import { PolicyError, type PolicyIssue } from './errors.js';
import { LineIndex, splitStatements } from './source-map.js';

/** Policy text as it sits in the repository (or in a bundle): file name → contents. */
export interface PolicySources {
  /** The Cedar schema text. */
  schema: string;
  /** The name errors give the schema; defaults to `schema.cedarschema`. */
  schemaFile?: string;
  /** Cedar policy files by name, e.g. `{ 'flixtube.cedar': '...' }`. */
  files: Record<string, string>;
}

/** One policy after loading: where it came from and what it says. */
export interface PolicyInfo {
  /** `@id("...")` when present, else `<file>#<index>` (0-based within the file). */
  readonly id: string;
  readonly file: string;
  readonly line: number;
  readonly effect: 'permit' | 'forbid';
  readonly text: string;
  readonly json: PolicyJson;
}

/** A policy set that parsed and validated against its schema; safe to hand to an engine. */
export interface CompiledPolicies {
  readonly sources: Readonly<PolicySources>;
  readonly policies: readonly PolicyInfo[];
  /** Cedar's validation warnings (not errors), located like issues. */
  readonly warnings: readonly PolicyIssue[];
}

const DEFAULT_SCHEMA_FILE = 'schema.cedarschema';

/**
 * Parses every file, validates every policy against the schema (Cedar strict mode) and
 * gives each policy an id. Throws a `PolicyError` listing every problem with its
 * `file:line:column`; never returns a partially valid set.
 *
 * @example
 * const compiled = compilePolicies({ schema, files: { 'app.cedar': 'permit(...);' } });
 */
export function compilePolicies(sources: PolicySources): CompiledPolicies {
  const schemaFile = sources.schemaFile ?? DEFAULT_SCHEMA_FILE;
  checkSchema(sources.schema, schemaFile);
  const parsed = parseFiles(sources.files);
  if (parsed.issues.length > 0) throw invalid(parsed.issues);
  const warnings = validateSet(sources.schema, schemaFile, parsed);
  return Object.freeze({
    sources: Object.freeze({
      ...sources,
      schemaFile,
      files: Object.freeze({ ...sources.files }),
    }),
    policies: Object.freeze(parsed.policies.map((p) => Object.freeze(p))),
    warnings: Object.freeze(warnings),
  });
}

function checkSchema(schema: string, schemaFile: string): void {
  const schemaParse = cedar.checkParseSchema(schema);
  if (schemaParse.type === 'failure') {
    const index = new LineIndex(schema);
    const issues = schemaParse.errors.map((e) => toIssue(e, schemaFile, index, 0));
    throw new PolicyError('FLT_POLICY_SCHEMA_INVALID', undefined, { issues });
  }
}

/** Every policy of every file, in file-name order, with the problems found on the way. */
interface ParsedFiles {
  policies: PolicyInfo[];
  byId: Map<string, PolicyInfo>;
  indexes: Map<string, LineIndex>;
  issues: PolicyIssue[];
}

function parseFiles(files: Record<string, string>): ParsedFiles {
  const parsed: ParsedFiles = { policies: [], byId: new Map(), indexes: new Map(), issues: [] };
  for (const file of Object.keys(files).sort()) {
    const text = files[file] ?? '';
    const index = new LineIndex(text);
    parsed.indexes.set(file, index);
    // Parse the whole file first: its offsets are file offsets, and it catches text
    // the statement splitter would not see (e.g. a missing final `;`).
    const whole = cedar.checkParsePolicySet({ staticPolicies: text });
    if (whole.type === 'failure') {
      parsed.issues.push(...whole.errors.map((e) => toIssue(e, file, index, 0)));
      continue;
    }
    splitStatements(text).forEach((stmt, i) => addStatement(parsed, file, index, stmt, i));
  }
  return parsed;
}

function addStatement(
  parsed: ParsedFiles,
  file: string,
  index: LineIndex,
  stmt: ReturnType<typeof splitStatements>[number],
  i: number,
): void {
  const json = cedar.policyToJson(stmt.text);
  if (json.type === 'failure') {
    parsed.issues.push(...json.errors.map((e) => toIssue(e, file, index, stmt.byteStart)));
    return;
  }
  const id = json.json.annotations?.id ?? `${file}#${i}`;
  const line = index.position(stmt.byteBody).line;
  const clash = parsed.byId.get(id);
  if (clash) {
    const message = `policy id "${id}" is already used at ${clash.file}:${clash.line}`;
    parsed.issues.push({ file, line, column: 1, policyId: id, message });
    return;
  }
  const info: PolicyInfo = { id, file, line, effect: json.json.effect, text: stmt.text, json: json.json };
  parsed.byId.set(id, info);
  parsed.policies.push(info);
  statementStart.set(info, stmt.byteStart);
}

/** Validates the set against the schema (Cedar strict mode); returns the warnings, throws the errors. */
function validateSet(schema: string, schemaFile: string, parsed: ParsedFiles): PolicyIssue[] {
  const answer = cedar.validate({
    schema,
    policies: { staticPolicies: Object.fromEntries(parsed.policies.map((p) => [p.id, p.text])) },
    validationSettings: { mode: 'strict' },
  });
  if (answer.type === 'failure') {
    const index = new LineIndex(schema);
    throw invalid(answer.errors.map((e) => toIssue(e, schemaFile, index, 0)));
  }
  const locate = (policyId: string, e: DetailedError): PolicyIssue => {
    const info = parsed.byId.get(policyId);
    if (!info) return { file: '<unknown>', line: 0, column: 0, policyId, message: e.message };
    const index = parsed.indexes.get(info.file) ?? new LineIndex('');
    return { ...toIssue(e, info.file, index, statementStart.get(info) ?? 0), policyId };
  };
  const byPlace = (a: PolicyIssue, b: PolicyIssue) => a.file.localeCompare(b.file) || a.line - b.line;
  const errors = answer.validationErrors.map((v) => locate(v.policyId, v.error)).sort(byPlace);
  if (errors.length > 0) throw invalid(errors);
  return answer.validationWarnings.map((v) => locate(v.policyId, v.error)).sort(byPlace);
}

// Offsets of each statement within its file, kept aside so PolicyInfo stays plain data.
const statementStart = new WeakMap<PolicyInfo, number>();

function invalid(issues: PolicyIssue[]): PolicyError {
  const first = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  const head = first
    ? `${first.line > 0 ? `${first.file}:${first.line}` : first.file}: ${first.message}`
    : '';
  return new PolicyError('FLT_POLICY_INVALID', `${head}${more}`, { issues });
}

/** Locates a Cedar error: `base` is the byte offset of the text Cedar saw within `file`. */
export function toIssue(e: DetailedError, file: string, index: LineIndex, base: number): PolicyIssue {
  const loc = e.sourceLocations?.[0];
  const detail = [loc?.label, e.help].filter((s): s is string => Boolean(s));
  const message = detail.length > 0 ? `${e.message} (${detail.join('; ')})` : e.message;
  if (!loc) return { file, line: 0, column: 0, message };
  return { file, ...index.position(base + loc.start), message };
}
