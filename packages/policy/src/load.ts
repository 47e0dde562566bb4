import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CompiledPolicies, compilePolicies, type PolicySources } from './compile.js';
import { PolicyError } from './errors.js';

export interface LoadOptions {
  /** The policy directory: `*.cedar` files and the schema. */
  dir: string;
  /** Schema file name inside `dir`; default `schema.cedarschema`. */
  schemaFile?: string;
}

/** Reads the schema and every `*.cedar` file (not sub-folders) of a policy directory. */
export async function readPolicySources({
  dir,
  schemaFile = 'schema.cedarschema',
}: LoadOptions): Promise<PolicySources> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (cause) {
    throw new PolicyError('FLT_POLICY_SOURCE_MISSING', `cannot read policy directory ${dir}`, { cause });
  }
  const read = async (name: string): Promise<string> => {
    try {
      return await readFile(join(dir, name), 'utf8');
    } catch (cause) {
      throw new PolicyError('FLT_POLICY_SOURCE_MISSING', `cannot read ${join(dir, name)}`, { cause });
    }
  };
  const files: Record<string, string> = {};
  for (const name of names.filter((n) => n.endsWith('.cedar')).sort()) files[name] = await read(name);
  return { schema: await read(schemaFile), schemaFile, files };
}

/**
 * Reads and validates a policy directory. Throws `PolicyError` (`POLICY_INVALID`,
 * `POLICY_SCHEMA_INVALID`, `POLICY_SOURCE_MISSING`) naming file and line.
 *
 * @example
 * const compiled = await loadPolicies({ dir: 'policies' });
 * const engine = new Authorizer(compiled);
 */
export async function loadPolicies(options: LoadOptions): Promise<CompiledPolicies> {
  return compilePolicies(await readPolicySources(options));
}
