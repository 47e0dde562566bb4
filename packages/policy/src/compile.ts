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
  const schemaParse = cedar.checkParseSchema(sources.schema);
  if (schemaParse.type === 'failure') {
    const index = new LineIndex(sources.schema);
    const issues = schemaParse.errors.map((e) => toIssue(e, schemaFile, index, 0));
    throw new PolicyError('POLICY_SCHEMA_INVALID', undefined, { issues });
  }

  const issues: PolicyIssue[] = [];
  const policies: PolicyInfo[] = [];
  const byId = new Map<string, PolicyInfo>();
  const indexes = new Map<string, LineIndex>();
  for (const file of Object.keys(sources.files).sort()) {
    const text = sources.files[file] ?? '';
    const index = new LineIndex(text);
    indexes.set(file, index);
    // Parse the whole file first: its offsets are file offsets, and it catches text
    // the statement splitter would not see (e.g. a missing final `;`).
    const parsed = cedar.checkParsePolicySet({ staticPolicies: text });
    if (parsed.type === 'failure') {
      issues.push(...parsed.errors.map((e) => toIssue(e, file, index, 0)));
      continue;
    }
    splitStatements(text).forEach((stmt, i) => {
      const json = cedar.policyToJson(stmt.text);
      if (json.type === 'failure') {
        issues.push(...json.errors.map((e) => toIssue(e, file, index, stmt.byteStart)));
        return;
      }
      const id = json.json.annotations?.id ?? `${file}#${i}`;
      const line = index.position(stmt.byteBody).line;
      const clash = byId.get(id);
      if (clash) {
        const message = `policy id "${id}" is already used at ${clash.file}:${clash.line}`;
        issues.push({ file, line, column: 1, policyId: id, message });
        return;
      }
      const info: PolicyInfo = {
        id,
        file,
        line,
        effect: json.json.effect,
        text: stmt.text,
        json: json.json,
      };
      byId.set(id, info);
      policies.push(info);
      statementStart.set(info, stmt.byteStart);
    });
  }
  if (issues.length > 0) throw invalid(issues);

  const answer = cedar.validate({
    schema: sources.schema,
    policies: {
      staticPolicies: Object.fromEntries(policies.map((p) => [p.id, p.text])),
    },
    validationSettings: { mode: 'strict' },
  });
  if (answer.type === 'failure') {
    const index = new LineIndex(sources.schema);
    throw invalid(answer.errors.map((e) => toIssue(e, schemaFile, index, 0)));
  }
  const locate = (policyId: string, e: DetailedError): PolicyIssue => {
    const info = byId.get(policyId);
    if (!info)
      return {
        file: '<unknown>',
        line: 0,
        column: 0,
        policyId,
        message: e.message,
      };
    const index = indexes.get(info.file) ?? new LineIndex('');
    return {
      ...toIssue(e, info.file, index, statementStart.get(info) ?? 0),
      policyId,
    };
  };
  const byPlace = (a: PolicyIssue, b: PolicyIssue) => a.file.localeCompare(b.file) || a.line - b.line;
  const errors = answer.validationErrors.map((v) => locate(v.policyId, v.error)).sort(byPlace);
  if (errors.length > 0) throw invalid(errors);
  const warnings = answer.validationWarnings.map((v) => locate(v.policyId, v.error)).sort(byPlace);
  return Object.freeze({
    sources: Object.freeze({
      ...sources,
      schemaFile,
      files: Object.freeze({ ...sources.files }),
    }),
    policies: Object.freeze(policies.map((p) => Object.freeze(p))),
    warnings: Object.freeze(warnings),
  });
}

// Offsets of each statement within its file, kept aside so PolicyInfo stays plain data.
const statementStart = new WeakMap<PolicyInfo, number>();

function invalid(issues: PolicyIssue[]): PolicyError {
  const first = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  const head = first
    ? `${first.line > 0 ? `${first.file}:${first.line}` : first.file}: ${first.message}`
    : '';
  return new PolicyError('POLICY_INVALID', `${head}${more}`, { issues });
}

/** Locates a Cedar error: `base` is the byte offset of the text Cedar saw within `file`. */
export function toIssue(e: DetailedError, file: string, index: LineIndex, base: number): PolicyIssue {
  const loc = e.sourceLocations?.[0];
  const detail = [loc?.label, e.help].filter((s): s is string => Boolean(s));
  const message = detail.length > 0 ? `${e.message} (${detail.join('; ')})` : e.message;
  if (!loc) return { file, line: 0, column: 0, message };
  return { file, ...index.position(base + loc.start), message };
}
