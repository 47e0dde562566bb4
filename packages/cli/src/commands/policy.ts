import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  Authorizer,
  type DecisionRequest,
  findTestFiles,
  lintPolicies,
  loadPolicies,
  PolicyError,
  runTestFile,
} from '@flotilla/policy';
import { printError } from '../output.js';
import { connect } from './ca.js';

const USAGE = `usage: flotilla policy <validate|test|lint|why|rotate-key> [options]

  validate [--dir policies]               parse and validate every policy against the schema
  test [--dir policies] [FILES...]        run YAML cases (default: <dir>/tests/*.yaml)
  lint [--dir policies] [--strict]        warn about over-broad permits (--strict: exit 1 on warnings)
  why <request.json> [--dir policies]     decide one request and show the deciding policies
  rotate-key [--url URL]                  new bundle-signing key at the running control plane; the
                                          previous key stays published until the next rotation`;

/** `flotilla policy`: policy as code from the command line. */
export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  let args: { dir: string; url?: string; strict: boolean; help: boolean; positionals: string[] };
  try {
    const parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        dir: { type: 'string', default: 'policies' },
        url: { type: 'string' },
        strict: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
    args = { ...parsed.values, positionals: parsed.positionals };
  } catch (err) {
    printError((err as Error).message);
    return 2;
  }
  if (!sub || sub === '--help' || args.help) {
    console.log(USAGE);
    return sub ? 0 : 2;
  }
  try {
    switch (sub) {
      case 'validate':
        return await validate(args.dir);
      case 'test':
        return await test(args.dir, args.positionals);
      case 'lint':
        return await lint(args.dir, args.strict);
      case 'why':
        return await why(args.dir, args.positionals[0]);
      case 'rotate-key':
        return await rotateKey(args.url);
      default:
        printError(`unknown policy command "${sub}" (validate, test, lint, why, rotate-key)`);
        return 2;
    }
  } catch (err) {
    return reportLoadError(err, args.dir);
  }
}

async function rotateKey(url: string | undefined): Promise<number> {
  let body: Record<string, unknown>;
  try {
    body = await (await connect(url)).call('POST', '/v1/policy/keys/rotate', undefined, true);
  } catch (err) {
    printError(err instanceof Error ? err.message : String(err));
    return 1;
  }
  const list = (v: unknown) => (Array.isArray(v) && v.length ? v.join(', ') : 'none');
  console.log(
    `rotated the policy signing key: ${String(body.kid)} signs bundle version ${String(body.version)}; published: ${list(body.published)}; retired: ${list(body.retired)}`,
  );
  return 0;
}

async function validate(dir: string): Promise<number> {
  const compiled = await loadPolicies({ dir });
  const files = new Set(compiled.policies.map((p) => p.file)).size;
  console.log(`ok: ${compiled.policies.length} policies in ${files} files valid against the schema`);
  return 0;
}

async function test(dir: string, files: string[]): Promise<number> {
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

async function lint(dir: string, strict: boolean): Promise<number> {
  const warnings = lintPolicies(await loadPolicies({ dir }));
  for (const w of warnings) {
    console.log(`${join(dir, w.file)}:${w.line}: warning [${w.rule}] ${w.policyId}: ${w.message}`);
  }
  console.log(`${warnings.length} warning${warnings.length === 1 ? '' : 's'}`);
  return strict && warnings.length > 0 ? 1 : 0;
}

async function why(dir: string, requestFile: string | undefined): Promise<number> {
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
