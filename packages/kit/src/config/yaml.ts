import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

/**
 * Parses YAML, loading the parser on first use: imported up front it cost every service
 * process ~3 MB, and a fleet's services read no YAML (their settings and files are JSON).
 *
 * @example
 * parseYaml('services:\n  notes: { port: 8080 }'); // { services: { notes: { port: 8080 } } }
 */
export function parseYaml(text: string): unknown {
  const { parse } = createRequire(import.meta.url)('yaml') as typeof Yaml;
  return parse(text);
}
