import { Type } from '@flotilla/kit';

const serviceName = Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$' });
const csr = Type.String({ minLength: 1, maxLength: 16_384 });

export const joinTokenBody = Type.Object(
  {
    service: serviceName,
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 24 * 3600 })),
  },
  { additionalProperties: false },
);

export const issueBody = Type.Object(
  { csr, token: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);

export const renewBody = Type.Object({ csr }, { additionalProperties: false });

export const revocationReasons = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  privilegeWithdrawn: 9,
} as const;

const reason = Type.Optional(
  Type.Union([
    Type.Literal('unspecified'),
    Type.Literal('keyCompromise'),
    Type.Literal('affiliationChanged'),
    Type.Literal('superseded'),
    Type.Literal('cessationOfOperation'),
    Type.Literal('privilegeWithdrawn'),
  ]),
);

export const revocationBody = Type.Union([
  Type.Object(
    { serial: Type.String({ pattern: '^(0x)?[0-9a-fA-F]{1,42}$' }), reason },
    { additionalProperties: false },
  ),
  Type.Object({ service: serviceName, reason }, { additionalProperties: false }),
]);

export const rotateBody = Type.Object(
  { which: Type.Union([Type.Literal('intermediate'), Type.Literal('root')]) },
  { additionalProperties: false },
);
