import { type Static, Type } from '@sinclair/typebox';

const Name = Type.String({
  pattern: '^[a-z][a-z0-9-]{0,62}$',
  description: 'lower-case letters, digits and dashes',
});
const Method = Type.Union(
  ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map((m) => Type.Literal(m)),
);
const Port = Type.Integer({ minimum: 0, maximum: 65535, description: '0 picks a free port' });
const Env = Type.Record(Type.String({ pattern: '^[A-Z][A-Z0-9_]*$' }), Type.String(), {
  description: 'extra settings for the process (never secrets: those are generated under .flotilla/secrets)',
});

const strict = { additionalProperties: false } as const;

export const ServiceCall = Type.Object(
  { service: Name, method: Method, path: Type.String({ pattern: '^/' }) },
  { ...strict, description: 'a call this service may make to another service (default deny)' },
);

const BucketName = Type.String({
  pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
  description: 'S3 rules: 3-63 lower-case letters, digits, dots and dashes',
});

/** A bucket of the storage service (its STORAGE_BUCKETS_FILE entry). */
export const FleetBucket = Type.Object(
  {
    name: BucketName,
    maxObjectSize: Type.Optional(
      Type.Integer({ minimum: 0, description: 'bytes; a larger put is refused while streaming (413)' }),
    ),
    contentTypes: Type.Optional(
      Type.Array(Type.String({ pattern: '^[a-z0-9!#$&^_.+-]+/([a-z0-9!#$&^_.+-]+|\\*)$' }), {
        minItems: 1,
        description: 'media types a put may have (type/subtype or type/*); others are 415',
      }),
    ),
    versioning: Type.Optional(Type.Boolean({ description: 'keep every version; a delete adds a marker' })),
    key: Type.Optional(
      Type.String({
        pattern: '^[a-z][a-z0-9-]{0,62}$',
        description: "the KMS key (a name from `keys:`) the bucket's data keys come from; default `storage`",
      }),
    ),
    policy: Type.Optional(
      Type.String({
        minLength: 1,
        description: "the bucket's own Cedar policies, relative to the fleet file",
      }),
    ),
  },
  strict,
);

const BusName = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$',
  description: 'a queue or topic: letters, digits, _ and - (no dots)',
});
const busList = (description: string) =>
  Type.Optional(Type.Array(BusName, { uniqueItems: true, description }));

/** What a service does on the message bus; the fleet's Cedar policies decide whether it may. */
export const FleetServiceBus = Type.Object(
  {
    send: busList('queues it sends to (single-recipient)'),
    consume: busList('queues it consumes (its instances and other consumers compete)'),
    publish: busList('topics it publishes (multiple-recipient)'),
    subscribe: busList('topics it subscribes to (one copy per service, shared by its instances)'),
  },
  { ...strict, description: 'the queues and topics this service uses (ctx.bus)' },
);

export const FleetService = Type.Object(
  {
    name: Name,
    entry: Type.String({ minLength: 1, description: 'TypeScript entry point, relative to the fleet file' }),
    port: Type.Optional(Port),
    instances: Type.Optional(Type.Integer({ minimum: 1, maximum: 16, default: 1 })),
    calls: Type.Optional(Type.Array(ServiceCall)),
    dependsOn: Type.Optional(Type.Array(Name, { description: 'services that must be ready first' })),
    database: Type.Optional(Type.Boolean({ description: 'the service keeps data (PGlite or DATABASE_URL)' })),
    keys: Type.Optional(
      Type.Array(Name, {
        description:
          'KMS keys this service uses (names from `keys:`); `flotilla policy lint` warns about grants on keys a service does not declare',
      }),
    ),
    buckets: Type.Optional(
      Type.Array(BucketName, {
        description: 'buckets this service uses (policy lint warns about other grants)',
      }),
    ),
    bus: Type.Optional(FleetServiceBus),
    env: Type.Optional(Env),
  },
  strict,
);

export const FleetKey = Type.Object(
  {
    name: Name,
    description: Type.Optional(Type.String({ maxLength: 256 })),
    rotationDays: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 3650, description: 'rotate automatically every this many days' }),
    ),
  },
  { ...strict, description: 'a KMS key, created at start when missing' },
);

export const GatewayRoute = Type.Object(
  {
    method: Method,
    path: Type.String({ pattern: '^/', description: 'pattern, e.g. /api/videos/:id' }),
    service: Name,
    upstreamPath: Type.String({ pattern: '^/' }),
    auth: Type.Optional(
      Type.Union([Type.Literal('public'), Type.Literal('required')], { default: 'required' }),
    ),
    scopes: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    action: Type.Optional(Type.String({ minLength: 1, description: 'policy action, e.g. video:Read' })),
    throttle: Type.Optional(Type.String({ minLength: 1, description: 'name of a throttling policy' })),
    cors: Type.Optional(Type.String({ minLength: 1, description: 'name of a CORS policy' })),
    bodyLimit: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'largest request body in bytes (uploads); default BODY_LIMIT',
      }),
    ),
  },
  strict,
);

export const OAuthClient = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$' }),
    type: Type.Union([Type.Literal('spa'), Type.Literal('confidential'), Type.Literal('service')]),
    redirectUris: Type.Optional(Type.Array(Type.String({ pattern: '^https?://' }))),
    postLogoutRedirectUris: Type.Optional(Type.Array(Type.String({ pattern: '^https?://' }))),
    scopes: Type.Array(Type.String({ minLength: 1 })),
    audience: Type.Optional(Type.String({ minLength: 1 })),
  },
  strict,
);

export const Fleet = Type.Object(
  {
    version: Type.Literal(1),
    name: Type.String({ minLength: 1 }),
    trustDomain: Type.Optional(Type.String({ pattern: '^[a-z0-9._-]+$', default: 'flotilla.local' })),
    control: Type.Optional(
      Type.Object({ port: Type.Optional(Port), publicPort: Type.Optional(Port) }, strict),
    ),
    auth: Type.Object(
      {
        port: Type.Optional(Port),
        audience: Type.String({ minLength: 1, description: 'the API audience of access tokens' }),
        clients: Type.Array(OAuthClient),
      },
      strict,
    ),
    roles: Type.Array(Type.String({ pattern: '^[a-z][a-z0-9-]*$' })),
    demoUsers: Type.Optional(
      Type.Array(
        Type.Object(
          { name: Type.String({ pattern: '^[a-z][a-z0-9._-]{0,63}$' }), roles: Type.Array(Type.String()) },
          strict,
        ),
      ),
    ),
    gateway: Type.Object(
      {
        port: Type.Optional(Port),
        httpPort: Type.Optional(Port),
        web: Type.Optional(Type.String({ minLength: 1, description: 'folder of the web app, served at /' })),
        routes: Type.Array(GatewayRoute),
        permissions: Type.Optional(
          Type.Boolean({
            default: true,
            description:
              'the gateway answers POST /api/permissions: which of the given requests the signed-in caller may make',
          }),
        ),
        throttling: Type.Optional(
          Type.Record(
            Type.String(),
            Type.Object({
              points: Type.Integer({ minimum: 1 }),
              durationSeconds: Type.Integer({ minimum: 1 }),
              by: Type.Optional(Type.String()),
            }),
          ),
        ),
        cors: Type.Optional(Type.Record(Type.String(), Type.Object({ origins: Type.Array(Type.String()) }))),
      },
      strict,
    ),
    keys: Type.Optional(
      Type.Array(FleetKey, { description: 'the KMS keys of the fleet (the key `storage` always exists)' }),
    ),
    buckets: Type.Optional(Type.Array(FleetBucket, { description: "the storage service's buckets" })),
    services: Type.Array(FleetService, { minItems: 1 }),
  },
  { ...strict, $id: 'https://flotilla.dev/schemas/fleet.schema.json', title: 'Flotilla fleet file' },
);

export type Fleet = Static<typeof Fleet>;
export type FleetService = Static<typeof FleetService>;
export type FleetKey = Static<typeof FleetKey>;
export type FleetBucket = Static<typeof FleetBucket>;
export type FleetServiceBus = Static<typeof FleetServiceBus>;
