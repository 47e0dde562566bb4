import { FlotillaError, peerOf, type ServiceApp, type ServiceContext, toFlotillaError } from '@flotilla/kit';
import {
  CreateKeyRequest,
  DecryptRequest,
  EncryptRequest,
  GenerateDataKeyRequest,
  GenerateDataKeysRequest,
  KeyNameParams,
  KMS_ROUTES,
  MinDecryptionVersionRequest,
  ReEncryptRequest,
  ScheduleDeletionRequest,
  UsageQuery,
} from '@flotilla/kit/contracts';
import type { FastifyRequest } from 'fastify';
import type { Caller } from '../keys/key-authz.js';
import { type KeyOperations, recordedErrors } from '../keys/operations.js';

const DAY_MS = 86_400_000;
const EMPTY = { type: 'object', additionalProperties: false } as const;

/** The caller of a request: the service in its client certificate; none, no answer. */
function callerOf(req: FastifyRequest): Caller {
  const peer = peerOf(req);
  if (!peer)
    throw new FlotillaError('FLT_UNAUTHENTICATED', 'the KMS answers workloads: present a client certificate');
  return { service: peer.service, id: peer.id };
}

/**
 * The KMS API (`KMS_ROUTES`, the kms contract). Every handler goes through
 * `KeyOperations`, which decides, records and audits; a request refused before it (a
 * body or name that does not validate, no certificate) is audited by the `onError` hook.
 */
export function registerKmsRoutes(app: ServiceApp, ctx: ServiceContext, ops: KeyOperations): void {
  void app.register(async (api) => {
    api.addHook('onError', async (req, _reply, err) => {
      if (recordedErrors.has(err)) return;
      const refused = toFlotillaError(err);
      await ctx.audit({
        actor: peerOf(req)?.id ?? 'anonymous',
        action: 'kms.request',
        target: `${req.method} ${req.routeOptions.url ?? req.url}`,
        outcome: refused.status === 401 || refused.status === 403 ? 'denied' : 'failure',
        reason: refused.code,
      });
    });
    keyAdminRoutes(api, ops);
    cryptoRoutes(api, ops);
  });
}

function keyAdminRoutes(api: ServiceApp, ops: KeyOperations): void {
  const named = { params: KeyNameParams };
  api.get(KMS_ROUTES.listKeys.path, async (req) => ({ keys: await ops.listKeys(callerOf(req)) }));
  api.post(KMS_ROUTES.createKey.path, { schema: { body: CreateKeyRequest } }, async (req, reply) =>
    reply.code(201).send(await ops.createKey(callerOf(req), req.body)),
  );
  api.get(KMS_ROUTES.describeKey.path, { schema: named }, async (req) =>
    ops.describeKey(callerOf(req), req.params.name),
  );
  api.post(KMS_ROUTES.rotateKey.path, { schema: { ...named, body: EMPTY } }, async (req) =>
    ops.rotateKey(callerOf(req), req.params.name),
  );
  api.post(KMS_ROUTES.disableKey.path, { schema: { ...named, body: EMPTY } }, async (req) =>
    ops.disableKey(callerOf(req), req.params.name),
  );
  api.post(KMS_ROUTES.enableKey.path, { schema: { ...named, body: EMPTY } }, async (req) =>
    ops.enableKey(callerOf(req), req.params.name),
  );
  api.post(
    KMS_ROUTES.scheduleDeletion.path,
    { schema: { ...named, body: ScheduleDeletionRequest } },
    async (req) => ops.scheduleKeyDeletion(callerOf(req), req.params.name, req.body.days),
  );
  api.post(KMS_ROUTES.cancelDeletion.path, { schema: { ...named, body: EMPTY } }, async (req) =>
    ops.cancelKeyDeletion(callerOf(req), req.params.name),
  );
  api.post(
    KMS_ROUTES.setMinDecryptionVersion.path,
    { schema: { ...named, body: MinDecryptionVersionRequest } },
    async (req) => ops.setMinDecryptionVersion(callerOf(req), req.params.name, req.body.version),
  );
  api.get(KMS_ROUTES.usage.path, { schema: { ...named, querystring: UsageQuery } }, async (req) => {
    const since = req.query.since ? new Date(req.query.since) : new Date(Date.now() - 7 * DAY_MS);
    if (Number.isNaN(since.getTime()))
      throw new FlotillaError('FLT_VALIDATION', 'since must be an ISO 8601 date');
    return { records: await ops.usageOf(callerOf(req), req.params.name, since, req.query.limit ?? 100) };
  });
}

function cryptoRoutes(api: ServiceApp, ops: KeyOperations): void {
  const named = { params: KeyNameParams };
  api.post(
    KMS_ROUTES.generateDataKey.path,
    { schema: { ...named, body: GenerateDataKeyRequest } },
    async (req) => {
      const keys = await ops.generateDataKeys(callerOf(req), req.params.name, 1, req.body.context);
      const [one] = keys.dataKeys;
      return { ...one!, key: keys.key, keyVersion: keys.keyVersion };
    },
  );
  api.post(
    KMS_ROUTES.generateDataKeys.path,
    { schema: { ...named, body: GenerateDataKeysRequest } },
    async (req) => ops.generateDataKeys(callerOf(req), req.params.name, req.body.count, req.body.context),
  );
  api.post(KMS_ROUTES.encrypt.path, { schema: { ...named, body: EncryptRequest } }, async (req) =>
    ops.encrypt(callerOf(req), req.params.name, Buffer.from(req.body.plaintext, 'base64'), req.body.context),
  );
  api.post(KMS_ROUTES.decrypt.path, { schema: { body: DecryptRequest } }, async (req) =>
    ops.decrypt(callerOf(req), req.body.ciphertext, req.body.context),
  );
  api.post(KMS_ROUTES.reEncrypt.path, { schema: { body: ReEncryptRequest } }, async (req) =>
    ops.reEncrypt(callerOf(req), req.body.ciphertext, req.body.context),
  );
}
