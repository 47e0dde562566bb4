import { type Static, Type } from '@sinclair/typebox';

/** HTTP methods a route may name; a GET route also answers HEAD. */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const Method = Type.Union(METHODS.map((m) => Type.Literal(m)));

const Limit = Type.Object(
  {
    /** Requests allowed per window. */
    points: Type.Integer({ minimum: 1 }),
    /** Window in seconds. */
    duration: Type.Integer({ minimum: 1, maximum: 86_400 }),
    /** Whom a named policy counts: each caller (default), each source IP, or the route as a whole. */
    key: Type.Optional(Type.Union([Type.Literal('caller'), Type.Literal('ip'), Type.Literal('route')])),
  },
  { additionalProperties: false },
);
export type LimitConfig = Static<typeof Limit>;

export const CorsSchema = Type.Object(
  {
    /** Exact origins (`https://app.example`); `*` only without credentials. */
    origins: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    methods: Type.Optional(Type.Array(Method, { minItems: 1 })),
    headers: Type.Optional(Type.Array(Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }))),
    exposeHeaders: Type.Optional(Type.Array(Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }))),
    credentials: Type.Optional(Type.Boolean()),
    maxAge: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
  },
  { additionalProperties: false },
);
export type CorsConfig = Static<typeof CorsSchema>;

export const RouteSchema = Type.Object(
  {
    /** A stable name for metrics and audit; `<METHOD> <path>` when omitted. */
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    method: Method,
    /** Pattern with `:param` segments and an optional trailing `*`: `/api/videos/:id`. */
    path: Type.String({ pattern: '^/', maxLength: 2000 }),
    service: Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$' }),
    /** Upstream path with the same `:param` names (and `*`): `/videos/:id`. */
    upstreamPath: Type.String({ pattern: '^/', maxLength: 2000 }),
    auth: Type.Union([Type.Literal('public'), Type.Literal('required')]),
    scopes: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    /**
     * The policy action decided on this route, e.g. `video:Read`: one the policy schema
     * declares for `Route`. `http:<METHOD>` when omitted (HEAD is GET).
     */
    action: Type.Optional(Type.String({ minLength: 1 })),
    /** Name of a throttle policy; `auth-endpoint` limits by source IP (login and token endpoints). */
    throttle: Type.Optional(Type.String({ minLength: 1 })),
    cors: Type.Optional(CorsSchema),
    /** Largest request body in bytes, instead of the gateway's `BODY_LIMIT` (uploads); it streams, never buffered. */
    bodyLimit: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type RouteConfig = Static<typeof RouteSchema>;

export const ThrottleSchema = Type.Object(
  {
    /** Per-application quota, by `client_id`. */
    client: Type.Optional(Limit),
    /** Per-user fair usage, by `sub`. */
    user: Type.Optional(Limit),
    /** Privilege tiers: role → per-user limit replacing `user` (the largest applies). */
    tiers: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Limit)),
    /** Named per-operation policies that routes refer to by `throttle`. */
    policies: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Limit)),
  },
  { additionalProperties: false },
);
export type ThrottleConfig = Static<typeof ThrottleSchema>;

/** `POST /api/permissions`, the gateway's own endpoint (`permissions/`): on unless `enabled: false`. */
export const PermissionsSchema = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    /** Name of a throttle policy, as a route's `throttle`; the caller's quotas apply either way. */
    throttle: Type.Optional(Type.String({ minLength: 1 })),
    cors: Type.Optional(CorsSchema),
  },
  { additionalProperties: false },
);
export type PermissionsConfig = Static<typeof PermissionsSchema>;

/** The gateway's routing file (`GATEWAY_ROUTES_FILE`, JSON or YAML). */
export const GatewayRoutesSchema = Type.Object(
  {
    routes: Type.Array(RouteSchema, { minItems: 1 }),
    /** Service name → base URL, for the plain upstream (until the kit's discovery lands). */
    upstreams: Type.Optional(
      Type.Record(Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$' }), Type.String({ pattern: '^https?://' })),
    ),
    throttle: Type.Optional(ThrottleSchema),
    permissions: Type.Optional(PermissionsSchema),
  },
  { additionalProperties: false },
);
export type GatewayRoutesConfig = Static<typeof GatewayRoutesSchema>;
