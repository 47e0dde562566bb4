import type { Readable } from 'node:stream';
import { FlotillaError, type ServiceApp, type ServiceContext } from '@flotilla/kit';
import { BucketName, objectKeyProblem, STORAGE_HEADERS } from '@flotilla/kit/contracts';
import { Type } from '@flotilla/kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Bucket, contentTypeAllowed } from '../buckets.js';
import type { StorageOp } from '../metrics.js';
import type { ObjectRow } from '../objects/object-rows.js';
import type { ObjectStore } from '../objects/object-store.js';
import { checkConditions } from '../objects/preconditions.js';
import type { Guard } from './guard.js';
import { parseRange } from './range.js';

const ObjectParams = Type.Object({ bucket: BucketName, '*': Type.String() });
const VersionQuery = Type.Object(
  { versionId: Type.Optional(Type.String({ maxLength: 64 })) },
  { additionalProperties: false },
);
const schema = { params: ObjectParams, querystring: VersionQuery };

function keyOf(req: { params: { '*': string } }): string {
  const key = req.params['*'];
  const problem = objectKeyProblem(key);
  if (problem) throw new FlotillaError('FLT_OBJECT_KEY_INVALID', problem);
  return key;
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function conditions(req: FastifyRequest) {
  return { ifMatch: header(req, 'if-match'), ifNoneMatch: header(req, 'if-none-match') };
}

function describe(reply: FastifyReply, row: ObjectRow, bucket: Bucket): FastifyReply {
  reply
    .header('etag', row.etag)
    .header('last-modified', row.created.toUTCString())
    .header('accept-ranges', 'bytes')
    .header('content-type', row.contentType);
  if (bucket.versioning) reply.header(STORAGE_HEADERS.versionId, row.versionId);
  return reply;
}

function answer(row: ObjectRow, bucket: Bucket) {
  return {
    bucket: row.bucket,
    key: row.key,
    etag: row.etag,
    size: row.size,
    versionId: bucket.versioning ? row.versionId : null,
  };
}

/** Counts the bytes a response stream gives out. */
function counted(stream: Readable, count: (n: number) => void): Readable {
  stream.on('data', (chunk: Buffer) => count(chunk.length));
  return stream;
}

/**
 * The object routes: PUT (put, or copy with `x-flotilla-copy-source`), GET (with one
 * Range), HEAD, DELETE. The key is the rest of the path. A put's body is never parsed:
 * it streams from the socket through the encryption into the backend.
 */
export function objectRoutes(
  app: ServiceApp,
  ctx: Pick<ServiceContext, 'audit'>,
  store: ObjectStore,
  guard: Guard,
): void {
  const path = '/v1/buckets/:bucket/objects/*';
  const failing = (op: StorageOp) => async (req: FastifyRequest, reply: FastifyReply, err: Error) => {
    // A body refused before its end (413 mid-stream, 403 before any byte): the connection
    // closes after the answer rather than waiting for bytes nobody will read.
    if (!req.raw.complete) reply.header('connection', 'close');
    await guard.refused(req, op, err);
  };

  // Bodies arrive as the raw request stream, whatever their type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  app.put(path, { schema, onError: failing('put') }, async (req, reply) => {
    const bucket = guard.bucket(req.params.bucket);
    const key = keyOf(req);
    const source = header(req, STORAGE_HEADERS.copySource);
    const op: StorageOp = source ? 'copy' : 'put';
    const caller = await guard.authorize(req, op, 'storage:PutObject', bucket.name, key);
    let row: ObjectRow;
    if (source) {
      const from = parseCopySource(source);
      const fromBucket = guard.bucket(from.bucket);
      await guard.authorize(req, op, 'storage:GetObject', fromBucket.name, from.key);
      const original = await store.find(
        fromBucket.name,
        from.key,
        header(req, STORAGE_HEADERS.copySourceVersionId),
      );
      if (!contentTypeAllowed(bucket, original.contentType))
        throw new FlotillaError('FLT_MEDIA_TYPE', `${bucket.name} does not take ${original.contentType}`);
      const plain = await store.read(original, 0, Math.max(0, original.size - 1));
      row = await store.put(bucket, key, {
        contentType: original.contentType,
        body: plain,
        ...conditions(req),
      });
    } else {
      const contentType = header(req, 'content-type') ?? 'application/octet-stream';
      if (!contentTypeAllowed(bucket, contentType))
        throw new FlotillaError('FLT_MEDIA_TYPE', `${bucket.name} does not take ${contentType}`);
      const declared = Number(header(req, 'content-length') ?? Number.NaN);
      if (bucket.maxObjectSize !== undefined && declared > bucket.maxObjectSize)
        throw new FlotillaError(
          'FLT_BODY_TOO_LARGE',
          `the object is larger than the bucket's limit of ${bucket.maxObjectSize} bytes`,
        );
      row = await store.put(bucket, key, {
        contentType,
        // On a refusal mid-stream the request is left open, not destroyed, so the 413 still reaches the caller.
        body: req.raw.iterator({ destroyOnReturn: false }),
        onBytes: (n) => guard.metrics.bytesIn.inc(n),
        ...conditions(req),
      });
    }
    guard.metrics.requests(op, 'success');
    await ctx.audit({
      actor: caller.actor,
      action: `storage.${op}`,
      target: `${bucket.name}/${key}`,
      outcome: 'success',
      details: { size: row.size, etag: row.etag, versionId: row.versionId, ...(source ? { source } : {}) },
    });
    return describe(reply, row, bucket).type('application/json').send(answer(row, bucket));
  });

  app.get(path, { schema, exposeHeadRoute: false, onError: failing('get') }, async (req, reply) => {
    const bucket = guard.bucket(req.params.bucket);
    const key = keyOf(req);
    await guard.authorize(req, 'get', 'storage:GetObject', bucket.name, key);
    const row = await store.find(bucket.name, key, req.query.versionId);
    if (checkConditions(row, conditions(req), true) === 'not-modified') {
      guard.metrics.requests('get', 'success');
      return describe(reply, row, bucket).code(304).send();
    }
    const range = parseRange(header(req, 'range'), row.size);
    const start = range?.start ?? 0;
    const end = range?.end ?? Math.max(0, row.size - 1);
    const body = await store.read(row, start, end);
    guard.metrics.requests('get', 'success');
    describe(reply, row, bucket).header('content-length', String(row.size === 0 ? 0 : end - start + 1));
    if (range) reply.code(206).header('content-range', `bytes ${start}-${end}/${row.size}`);
    return reply.send(counted(body, (n) => guard.metrics.bytesOut.inc(n)));
  });

  app.head(path, { schema, onError: failing('head') }, async (req, reply) => {
    const bucket = guard.bucket(req.params.bucket);
    const key = keyOf(req);
    await guard.authorize(req, 'head', 'storage:GetObject', bucket.name, key);
    const row = await store.find(bucket.name, key, req.query.versionId);
    const code = checkConditions(row, conditions(req), true) === 'not-modified' ? 304 : 200;
    guard.metrics.requests('head', 'success');
    return describe(reply, row, bucket).header('content-length', String(row.size)).code(code).send();
  });

  app.delete(path, { schema, onError: failing('delete') }, async (req) => {
    const bucket = guard.bucket(req.params.bucket);
    const key = keyOf(req);
    const caller = await guard.authorize(req, 'delete', 'storage:DeleteObject', bucket.name, key);
    const outcome = await store.delete(bucket, key, {
      ...conditions(req),
      ...(req.query.versionId ? { versionId: req.query.versionId } : {}),
    });
    guard.metrics.requests('delete', 'success');
    await ctx.audit({
      actor: caller.actor,
      action: 'storage.delete',
      target: `${bucket.name}/${key}`,
      outcome: 'success',
      details: { ...outcome },
    });
    return { deleteMarker: outcome.deleteMarker, versionId: outcome.versionId };
  });
}

/** `<bucket>/<key>` with the key percent-encoded per segment, as the client sends it. */
function parseCopySource(source: string): { bucket: string; key: string } {
  const slash = source.indexOf('/');
  let bucket = '';
  let key = '';
  try {
    bucket = decodeURIComponent(source.slice(0, slash));
    key = source
      .slice(slash + 1)
      .split('/')
      .map((s) => decodeURIComponent(s))
      .join('/');
  } catch {
    // refused below
  }
  const problem = slash <= 0 ? 'the copy source must be <bucket>/<key>' : objectKeyProblem(key);
  if (problem) throw new FlotillaError('FLT_OBJECT_KEY_INVALID', `${STORAGE_HEADERS.copySource}: ${problem}`);
  return { bucket, key };
}
