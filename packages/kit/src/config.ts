import { readFileSync } from 'node:fs';
import { type Static, type TObject, type TProperties, Type } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ConfigError } from './errors/index.js';
import { parseYaml } from './yaml.js';

// ajv-formats is CommonJS; its default export arrives wrapped under NodeNext.
export const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** Settings every service has. Names are the environment variables that set them. */
export const baseConfigSchema = Type.Object(
  {
    HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: 'address to listen on' }),
    PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 0, description: '0 picks a free port' }),
    LOG_LEVEL: Type.Unsafe<'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'>({
      type: 'string',
      enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
    }),
    DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
    FLOTILLA_DB: Type.Optional(
      Type.Unsafe<'host'>({
        type: 'string',
        enum: ['host'],
        description: 'host: the embedded database is kept by `flotilla up`, reached over its IPC channel',
      }),
    ),
    FLOTILLA_HOME: Type.String({ default: '.flotilla', minLength: 1, description: 'state directory' }),
    BODY_LIMIT: Type.Integer({ minimum: 1, maximum: 1024 ** 3, default: 1024 * 1024 }),
    SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 0, maximum: 600_000, default: 10_000 }),
    REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 30_000 }),
    FLOTILLA_CONTROL_URL: Type.Optional(
      Type.String({
        pattern: '^https://',
        description: 'the control plane; when set the service serves mTLS only',
      }),
    ),
    FLOTILLA_JOIN_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
    FLOTILLA_JOIN_TOKEN_FILE: Type.Optional(Type.String({ minLength: 1 })),
    FLOTILLA_CA_BUNDLE_FILE: Type.Optional(
      Type.String({ minLength: 1, description: 'roots that vouch for the control plane' }),
    ),
    FLOTILLA_TRUST_DOMAIN: Type.String({ default: 'flotilla.local', pattern: '^[a-z0-9._-]+$' }),
    FLOTILLA_CLIENT_CERT: Type.Unsafe<'require' | 'optional'>({
      type: 'string',
      enum: ['require', 'optional'],
      default: 'require',
      description: 'whether callers must present a certificate (the control plane takes joins without one)',
    }),
    FLOTILLA_REFRESH_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 15_000 }),
    FLOTILLA_POLICY_DIR: Type.String({
      default: 'policies',
      minLength: 1,
      description: 'Cedar schema and policies',
    }),
    FLOTILLA_POLICY_POLL_MS: Type.Integer({
      minimum: 100,
      maximum: 3_600_000,
      default: 1000,
      description:
        "the least time between two polls of the control plane's signed policy bundle (If-None-Match)",
    }),
    FLOTILLA_POLICY_LONG_POLL_S: Type.Integer({
      minimum: 0,
      maximum: 25,
      default: 20,
      description:
        'how long the control plane may hold a policy poll until a newer bundle is signed (0: plain polling)',
    }),
    FLOTILLA_ALLOWED_CALLS: Type.String({
      default: '{}',
      description:
        'JSON: the calls each service declared, e.g. {"history":{"calls":[{"service":"metadata","method":"GET","path":"/videos/:id"}]}}',
    }),
    FLOTILLA_ADVERTISE_ADDRESS: Type.Optional(
      Type.String({ minLength: 1, description: 'address registered for callers' }),
    ),
    FLOTILLA_SERVICE_VERSION: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    FLOTILLA_BALANCER: Type.Unsafe<'p2c' | 'round-robin'>({
      type: 'string',
      enum: ['p2c', 'round-robin'],
      default: 'p2c',
    }),
    FLOTILLA_DEREGISTER_DELAY_MS: Type.Integer({
      minimum: 0,
      maximum: 60_000,
      default: 300,
      description: 'pause between deregistering and closing the listener, so callers hear of it first',
    }),
  },
  { additionalProperties: false },
);

export type BaseConfig = Static<typeof baseConfigSchema>;

const ajv = addFormats(new Ajv({ coerceTypes: true, useDefaults: true, allErrors: false, strict: false }));

/**
 * Reads settings from the environment, and from the JSON or YAML file named by
 * `FLOTILLA_CONFIG` (the environment wins), validates them once against the schema
 * and freezes the result. Unknown keys in the file are refused; unrelated environment
 * variables are ignored.
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
