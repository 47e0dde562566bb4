import type { ServiceApp } from '@flotilla/kit';
import { BucketList, BucketParams, BucketPolicy, ListQuery, ListResult } from '@flotilla/kit/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BucketAccess } from '../access/bucket-access.js';
import type { Bucket } from '../buckets.js';
import type { StorageOp } from '../metrics.js';
import type { ObjectStore } from '../objects/object-store.js';
import type { Guard } from './guard.js';

/** The bucket routes: the declared buckets, one bucket's listing, its effective policy. */
export function bucketRoutes(
  app: ServiceApp,
  buckets: readonly Bucket[],
  store: ObjectStore,
  guard: Guard,
  access: BucketAccess,
): void {
  const failing = (op: StorageOp) => async (req: FastifyRequest, _reply: FastifyReply, err: Error) => {
    await guard.refused(req, op, err);
  };

  app.get(
    '/v1/buckets',
    { schema: { response: { 200: BucketList } }, onError: failing('buckets') },
    async (req) => {
      await guard.caller(req);
      guard.metrics.requests('buckets', 'success');
      return {
        buckets: buckets.map((b) => ({
          name: b.name,
          versioning: b.versioning,
          maxObjectSize: b.maxObjectSize ?? null,
          contentTypes: b.contentTypes ?? null,
        })),
      };
    },
  );

  app.get(
    '/v1/buckets/:bucket',
    {
      schema: { params: BucketParams, querystring: ListQuery, response: { 200: ListResult } },
      onError: failing('list'),
    },
    async (req) => {
      const bucket = guard.bucket(req.params.bucket);
      await guard.authorize(req, 'list', 'storage:ListBucket', bucket.name);
      const q = req.query;
      const prefix = q.prefix ?? '';
      const page = await store.list(bucket.name, {
        prefix,
        delimiter: q.delimiter,
        maxKeys: q['max-keys'] ?? 1000,
        token: q['continuation-token'],
      });
      guard.metrics.requests('list', 'success');
      return {
        bucket: bucket.name,
        prefix,
        delimiter: q.delimiter ?? null,
        objects: page.objects.map((o) => ({
          key: o.key,
          size: o.size,
          etag: o.etag,
          contentType: o.contentType,
          lastModified: o.created.toISOString(),
          versionId: bucket.versioning ? o.versionId : null,
        })),
        commonPrefixes: page.commonPrefixes,
        isTruncated: page.next !== null,
        nextContinuationToken: page.next,
      };
    },
  );

  app.get(
    '/v1/buckets/:bucket/policy',
    { schema: { params: BucketParams, response: { 200: BucketPolicy } }, onError: failing('policy') },
    async (req) => {
      const bucket = guard.bucket(req.params.bucket);
      await guard.authorize(req, 'policy', 'storage:ListBucket', bucket.name);
      const own = access.policyOf(bucket.name);
      guard.metrics.requests('policy', 'success');
      return {
        bucket: bucket.name,
        bucketPolicy: own?.text ?? '',
        file: own?.file ?? null,
        fleetPolicies: access.fleetPolicies(bucket.name),
      };
    },
  );
}
