import { type ErrorCode, FlotillaError } from '@flotilla/errors';

/** The codes the policy package raises (all in Flotilla's one registry, docs/errors.md). */
export const policyErrorCodes = [
  'FLT_POLICY_INVALID',
  'FLT_POLICY_SCHEMA_INVALID',
  'FLT_POLICY_SOURCE_MISSING',
  'FLT_POLICY_ENTITY_INVALID',
  'FLT_POLICY_BUNDLE_MALFORMED',
  'FLT_POLICY_BUNDLE_SIGNATURE',
  'FLT_POLICY_BUNDLE_REPLAY',
  'FLT_POLICY_TEST_MALFORMED',
] as const satisfies readonly ErrorCode[];

export type PolicyErrorCode = (typeof policyErrorCodes)[number];

/** One problem found in a policy source, located as precisely as Cedar allows. */
export interface PolicyIssue {
  /** File name relative to the policy directory (or the name the source was given). */
  file: string;
  /** 1-based line; 0 when Cedar gave no location. */
  line: number;
  /** 1-based column; 0 when unknown. */
  column: number;
  /** The policy id, when the issue belongs to one policy. */
  policyId?: string;
  message: string;
}

/** Formats an issue the way compilers do, so editors can jump to it. */
export function formatIssue(issue: PolicyIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  return `${where}: ${issue.message}`;
}

/**
 * The policy package's one error class, a `FlotillaError` with a `FLT_POLICY_…` code;
 * `issues` carries every located problem (a bad policy set reports all of them, not only
 * the first).
 *
 * @example
 * try { compilePolicies(sources) } catch (e) {
 *   if (e instanceof PolicyError && e.code === 'FLT_POLICY_INVALID') e.issues.forEach(i => console.log(formatIssue(i)));
 * }
 */
export class PolicyError extends FlotillaError {
  declare readonly code: PolicyErrorCode;
  readonly issues: readonly PolicyIssue[];

  constructor(
    code: PolicyErrorCode,
    message?: string,
    opts: { issues?: PolicyIssue[]; cause?: unknown } = {},
  ) {
    const issues = opts.issues ?? [];
    const first = issues[0];
    super(code, message ?? (first ? formatIssue(first) : undefined), { cause: opts.cause });
    this.name = 'PolicyError';
    this.issues = Object.freeze([...issues]);
  }
}
