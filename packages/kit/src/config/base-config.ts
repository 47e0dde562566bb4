import { type Static, Type } from '@sinclair/typebox';

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
    BUS_URL: Type.Optional(
      Type.String({
        pattern: '^[a-z][a-z0-9+.-]*://',
        description: 'the message broker of ctx.bus: amqp://… or amqps://… for RabbitMQ',
      }),
    ),
    FLOTILLA_BUS_PASSWORD_FILE: Type.Optional(
      Type.String({
        minLength: 1,
        description: "the service's RabbitMQ password (flotilla bus provision), when BUS_URL has none",
      }),
    ),
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
