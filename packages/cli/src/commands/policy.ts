import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  Authorizer,
  type DecisionRequest,
  findTestFiles,
  lintBucketGrants,
  lintPolicies,
  loadPolicies,
  PolicyError,
  runTestFile,
} from '@flotilla/policy';
import { bool, type Handler, str } from '../cli/spec.js';
import { connectControl } from '../control-plane/connect.js';
import { type FleetError, loadFleet } from '../fleet/load-fleet.js';
import type { Fleet } from '../fleet/schema.js';
import { printError } from '../output.js';
import { undeclaredKeyGrants } from './key-grants.js';

/** A policy command, with a policy file problem printed as file:line lines (exit 1). */
const withPolicies =
  (run: (dir: string, positionals: string[], strict: boolean) => Promise<number>): Handler =>
  async (args) => {
    const dir = str(args, 'dir') ?? 'policies';
    try {
      return await run(dir, args.positionals, bool(args, 'strict'));
    } catch (err) {
      return reportLoadError(err, dir);
    }
  };

/** `flotilla policy validate [--dir policies]`. */
export const validate = withPolicies((dir) => validateDir(dir));
/** `flotilla policy test [--dir policies] [FILES...]`. */
export const test = withPolicies((dir, files) => testFiles(dir, files));
/**
 * `flotilla policy lint [--dir policies] [--file flotilla.yaml] [--strict]`: over-broad
 * permits, and key and bucket grants the fleet file does not declare.
 */
export const lint: Handler = (args) =>
  withPolicies((dir, _files, strict) =>
    lintDir(dir, strict, str(args, 'file') ?? join(dirname(dir), 'flotilla.yaml')),
  )(args);
/** `flotilla policy why <request.json> [--dir policies]`. */
export const why = withPolicies((dir, [request]) => whyRequest(dir, request));

/** `flotilla policy rotate-key [--url URL]`: a new bundle-signing key at the running control plane. */
export const rotateKey: Handler = async (args) => {
  const admin = await connectControl(args);
  let body: Awaited<ReturnType<typeof admin.rotatePolicyKey>>;
  try {
    body = await admin.rotatePolicyKey();
  } finally {
    await admin.close();
  }
  const list = (v: string[]) => (v.length ? v.join(', ') : 'none');
  console.log(
    `rotated the policy signing key: ${body.kid} signs bundle version ${body.version}; published: ${list(body.published)}; retired: ${list(body.retired)}`,
  );
  return 0;
};

async function validateDir(dir: string): Promise<number> {
  const compiled = await loadPolicies({ dir });
  const files = new Set(compiled.policies.map((p) => p.file)).size;
  console.log(`ok: ${compiled.policies.length} policies in ${files} files valid against the schema`);
  return 0;
}

async function testFiles(dir: string, files: string[]): Promise<number> {
  const engine = new Authorizer(await loadPolicies({ dir }), { cache: false });
  const targets = files.length > 0 ? files : await findTestFiles(dir);
  if (targets.length === 0) {
    printError(`no test files in ${join(dir, 'tests')}`);
    return 1;
  }
  let passed = 0;
  let failed = 0;
  for (const file of targets) {
    for (const r of await runTestFile(file, engine)) {
      if (r.passed) passed += 1;
      else failed += 1;
      console.log(r.passed ? `PASS  ${r.name}` : `FAIL  ${r.name}: ${r.failure ?? ''}`);
    }
  }
  console.log(`\n${passed} passed, ${failed} failed (${targets.length} files)`);
  return failed > 0 ? 1 : 0;
}

async function lintDir(dir: string, strict: boolean, fleetFile: string): Promise<number> {
  const compiled = await loadPolicies({ dir });
  const fleet = await loadFleet(fleetFile).catch((err: unknown) => {
    // Without a fleet file there is nothing to check grants against; a broken one is said.
    if ((err as FleetError).message.includes('cannot read the fleet file')) return undefined;
    throw err;
  });
  const warnings = [
    ...lintPolicies(compiled),
    ...(fleet ? undeclaredKeyGrants(compiled, fleet) : []),
    ...(fleet ? lintBucketGrants(compiled, declaredBuckets(fleet)) : []),
  ];
  for (const w of warnings) {
    console.log(`${join(dir, w.file)}:${w.line}: warning [${w.rule}] ${w.policyId}: ${w.message}`);
  }
  console.log(`${warnings.length} warning${warnings.length === 1 ? '' : 's'}`);
  return strict && warnings.length > 0 ? 1 : 0;
}

/** What each fleet service declares under `buckets:`. */
function declaredBuckets(fleet: Fleet): Record<string, string[]> {
  return Object.fromEntries(fleet.services.map((s) => [s.name, s.buckets ?? []]));
}

async function whyRequest(dir: string, requestFile: string | undefined): Promise<number> {
  if (!requestFile) {
    printError('usage: flotilla policy why <request.json> [--dir policies]');
    return 2;
  }
  let request: DecisionRequest;
  try {
    request = JSON.parse(await readFile(requestFile, 'utf8')) as DecisionRequest;
  } catch (err) {
    printError(`cannot read request ${requestFile}: ${(err as Error).message}`);
    return 1;
  }
  const engine = new Authorizer(await loadPolicies({ dir }), { cache: false });
  const d = engine.decide(request);
  console.log(`decision: ${d.decision}`);
  if (d.reasons.length === 0) {
    console.log(
      d.decision === 'deny' && d.errors.length === 0 ? 'policies: none (default deny)' : 'policies: none',
    );
  }
  for (const id of d.reasons) {
    const p = engine.policy(id);
    console.log(`policy:   ${id} (${p ? `${p.effect} at ${join(dir, p.file)}:${p.line}` : 'unknown'})`);
  }
  for (const e of d.errors) console.log(`error:    ${e}`);
  return 0;
}

function reportLoadError(err: unknown, dir: string): number {
  if (err instanceof PolicyError && err.issues.length > 0) {
    for (const i of err.issues) {
      printError(`${join(dir, i.file)}${i.line > 0 ? `:${i.line}` : ''}: ${i.message}`);
    }
    return 1;
  }
  printError(err instanceof Error ? err.message : String(err));
  return 1;
}
