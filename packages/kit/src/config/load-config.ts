import { readFileSync } from 'node:fs';
import { type Static, type TObject, type TProperties, Type } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import { ConfigError } from '../errors/index.js';
import { addFormats } from './ajv-formats.js';
import { type BaseConfig, baseConfigSchema } from './base-config.js';
import { parseYaml } from './yaml.js';

const ajv = addFormats(new Ajv({ coerceTypes: true, useDefaults: true, allErrors: false, strict: false }));

/**
 * Reads settings from the environment, and from the JSON or YAML file named by
 * `FLOTILLA_CONFIG` (the environment wins), validates them once against the schema
 * and freezes the result. Unknown keys in the file are refused; unrelated environment
 * variables are ignored. A bad value throws a `ConfigError` naming the setting.
 *
 * @example
 * const config = loadConfig(Type.Object({ NOTES_LIMIT: Type.Integer({ default: 50 }) }), process.env);
 * config.PORT; // number; config.NOTES_LIMIT: number
 */
export function loadConfig<P extends TProperties>(
  extra: TObject<P> | undefined,
  env: Record<string, string | undefined>,
): Readonly<BaseConfig & Static<TObject<P>>> {
  const schema = Type.Composite([baseConfigSchema, extra ?? Type.Object({})], {
    additionalProperties: false,
  });
  const known = Object.keys(schema.properties);
  const fromFile = env.FLOTILLA_CONFIG ? readConfigFile(env.FLOTILLA_CONFIG, known) : {};
  const input: Record<string, unknown> = { ...fromFile };
  for (const key of known) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const validate = ajv.compile(schema);
  if (!validate(input)) throw toConfigError(validate.errors?.[0], input);
  return Object.freeze(input) as Readonly<BaseConfig & Static<TObject<P>>>;
}

function readConfigFile(path: string, known: string[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      'FLOTILLA_CONFIG',
      `FLOTILLA_CONFIG: cannot read ${path} (${(err as Error).message})`,
    );
  }
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(
      'FLOTILLA_CONFIG',
      `FLOTILLA_CONFIG: ${path} is not valid: ${(err as Error).message}`,
    );
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError('FLOTILLA_CONFIG', `FLOTILLA_CONFIG: ${path} must hold an object of settings`);
  }
  const unknownKey = Object.keys(data).find((k) => !known.includes(k));
  if (unknownKey) {
    throw new ConfigError(unknownKey, `${unknownKey}: unknown setting in ${path}`);
  }
  return data as Record<string, unknown>;
}

function toConfigError(error: ErrorObject | undefined, input: Record<string, unknown>): ConfigError {
  if (!error) return new ConfigError('?', 'invalid configuration');
  const setting =
    (error.params as { missingProperty?: string }).missingProperty ??
    error.instancePath.replace(/^\//, '').split('/')[0] ??
    '?';
  const got = input[setting];
  const shown = got === undefined ? '' : ` (got ${JSON.stringify(isSecretName(setting) ? '***' : got)})`;
  const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues;
  const message =
    error.keyword === 'required'
      ? 'is required'
      : error.keyword === 'enum' && allowed
        ? `must be one of ${allowed.join(', ')}`
        : error.message;
  return new ConfigError(setting, `${setting} ${message}${shown}`);
}

function isSecretName(name: string): boolean {
  return /SECRET|PASSWORD|TOKEN|KEY|KEK|URL/i.test(name);
}
