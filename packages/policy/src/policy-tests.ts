import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import type { Authorizer, Decision, DecisionRequest } from './authorizer.js';
import type { EntityInput, EntityRef } from './entities.js';
import { PolicyError } from './errors.js';

/**
 * One YAML test case. A file is either a list of cases or `{ entities, cases }`, where
 * the top-level entities are shared by every case in the file.
 */
export interface PolicyTestCase {
  name?: string;
  principal: EntityRef;
  action: EntityRef;
  resource: EntityRef;
  context?: Record<string, unknown>;
  entities?: EntityInput[];
  expect: 'allow' | 'deny';
  /** When given, the deciding policy ids must be exactly these (any order). */
  reasons?: string[];
  /** When given, some error must contain this text. */
  error?: string;
}

export interface PolicyTestResult {
  file: string;
  name: string;
  passed: boolean;
  decision: Decision;
  /** Why a case failed, in one line. */
  failure?: string;
}

const CASE_KEYS = new Set([
  'name',
  'principal',
  'action',
  'resource',
  'context',
  'entities',
  'expect',
  'reasons',
  'error',
]);

/** `policies/tests/*.yaml` (and `.yml`), sorted. */
export async function findTestFiles(dir: string): Promise<string[]> {
  const names = await readdir(join(dir, 'tests')).catch(() => [] as string[]);
  return names
    .filter((n) => n.endsWith('.yaml') || n.endsWith('.yml'))
    .sort()
    .map((n) => join(dir, 'tests', n));
}

/** Parses a test file; throws `POLICY_TEST_MALFORMED` naming the file and case. */
export async function readTestFile(
  file: string,
): Promise<{ entities: EntityInput[]; cases: PolicyTestCase[] }> {
  let doc: unknown;
  try {
    doc = parse(await readFile(file, 'utf8'));
  } catch (cause) {
    throw new PolicyError(
      'FLT_POLICY_TEST_MALFORMED',
      `${file}: ${(cause as Error).message.split('\n')[0]}`,
      {
        cause,
      },
    );
  }
  const top = Array.isArray(doc)
    ? { cases: doc as unknown[] }
    : (doc as { entities?: unknown; cases?: unknown });
  if (!top || !Array.isArray(top.cases))
    throw malformed(file, 'expected a list of cases or { entities, cases }');
  const entities = (top as { entities?: unknown }).entities ?? [];
  if (!Array.isArray(entities)) throw malformed(file, 'entities must be a list');
  const cases = top.cases.map((c: unknown, i: number) => checkCase(file, i, c));
  return { entities: entities as EntityInput[], cases };
}

function checkCase(file: string, i: number, raw: unknown): PolicyTestCase {
  const where = `case ${i + 1}`;
  if (!raw || typeof raw !== 'object') throw malformed(file, `${where} is not a mapping`);
  const c = raw as Record<string, unknown>;
  const unknown = Object.keys(c).filter((k) => !CASE_KEYS.has(k));
  if (unknown.length > 0) throw malformed(file, `${where}: unknown key ${unknown.join(', ')}`);
  for (const k of ['principal', 'action', 'resource'] as const) {
    if (c[k] === undefined) throw malformed(file, `${where}: missing ${k}`);
  }
  if (c.expect !== 'allow' && c.expect !== 'deny')
    throw malformed(file, `${where}: expect must be allow or deny`);
  if (c.entities !== undefined && !Array.isArray(c.entities))
    throw malformed(file, `${where}: entities must be a list`);
  if (c.reasons !== undefined && !Array.isArray(c.reasons))
    throw malformed(file, `${where}: reasons must be a list`);
  return c as unknown as PolicyTestCase;
}

function malformed(file: string, message: string): PolicyError {
  return new PolicyError('FLT_POLICY_TEST_MALFORMED', `${file}: ${message}`);
}

/** Runs every case of a file against an engine (without touching its entity store). */
export async function runTestFile(file: string, engine: Authorizer): Promise<PolicyTestResult[]> {
  const { entities, cases } = await readTestFile(file);
  return cases.map((c, i) => {
    const request: DecisionRequest = {
      principal: c.principal,
      action: c.action,
      resource: c.resource,
      entities: [...entities, ...(c.entities ?? [])],
    };
    if (c.context) request.context = c.context;
    const decision = engine.decide(request);
    const name = c.name ?? `${basename(file)} case ${i + 1}`;
    const failure = judge(c, decision);
    return failure
      ? { file, name, passed: false, decision, failure }
      : { file, name, passed: true, decision };
  });
}

function judge(c: PolicyTestCase, d: Decision): string | undefined {
  const errs = d.errors.length > 0 ? ` (errors: ${d.errors.join('; ')})` : '';
  if (d.decision !== c.expect) return `expected ${c.expect}, got ${d.decision}${errs}`;
  if (c.reasons) {
    const want = [...c.reasons].sort().join(', ');
    const got = [...d.reasons].sort().join(', ');
    if (want !== got) return `expected deciding policies [${want}], got [${got}]`;
  }
  if (c.error !== undefined && !d.errors.some((e) => e.includes(c.error as string))) {
    return `expected an error containing "${c.error}"${errs || ' (no errors)'}`;
  }
  return undefined;
}
