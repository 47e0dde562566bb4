/**
 * Every error code the policy package raises, in one registry. A code is never reused
 * for another meaning; the README lists each one (a test keeps the two in step).
 */
export const policyErrorCodes = {
  POLICY_INVALID: 'a policy does not parse or does not validate against the schema',
  POLICY_SCHEMA_INVALID: 'the schema does not parse',
  POLICY_SOURCE_MISSING: 'the policy directory, schema or a policy file cannot be read',
  POLICY_ENTITY_INVALID: 'an entity or entity reference is malformed',
  POLICY_BUNDLE_MALFORMED: 'a policy bundle is not a well-formed JWS with the expected payload',
  POLICY_BUNDLE_SIGNATURE: 'a policy bundle signature does not verify with any trusted key',
  POLICY_BUNDLE_REPLAY: 'a policy bundle is not newer than the bundle in force',
  POLICY_TEST_MALFORMED: 'a policy test file does not match the test format',
} as const;

export type PolicyErrorCode = keyof typeof policyErrorCodes;

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
 * The policy package's one error class. `code` is stable; `issues` carries every located
 * problem (a bad policy set reports all of them, not only the first).
 *
 * @example
 * try { compilePolicies(sources) } catch (e) {
 *   if (e instanceof PolicyError && e.code === 'POLICY_INVALID') e.issues.forEach(i => console.log(formatIssue(i)));
 * }
 */
export class PolicyError extends Error {
  readonly code: PolicyErrorCode;
  readonly issues: readonly PolicyIssue[];

  constructor(
    code: PolicyErrorCode,
    message?: string,
    opts: { issues?: PolicyIssue[]; cause?: unknown } = {},
  ) {
    const issues = opts.issues ?? [];
    const first = issues[0];
    super(message ?? (first ? formatIssue(first) : policyErrorCodes[code]), {
      cause: opts.cause,
    });
    this.name = 'PolicyError';
    this.code = code;
    this.issues = Object.freeze([...issues]);
  }
}
