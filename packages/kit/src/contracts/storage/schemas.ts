import { type Static, Type } from '@sinclair/typebox';
import { FlotillaError } from '../../errors/index.js';

/** Where the storage service serves its API (mTLS; each bucket's Cedar policies decide). */
export const STORAGE_BASE = '/v1';

/**
 * The storage service's routes, S3-shaped: a bucket names its objects, the object key is
 * the rest of the path (each segment percent-encoded; see {@link objectPath}).
 */
export const STORAGE_ROUTES = {
  listBuckets: { method: 'GET', path: `${STORAGE_BASE}/buckets` },
  listObjects: { method: 'GET', path: `${STORAGE_BASE}/buckets/:bucket` },
  bucketPolicy: { method: 'GET', path: `${STORAGE_BASE}/buckets/:bucket/policy` },
  /** PUT (put or copy), GET, HEAD, DELETE; `*` is the object key. */
  object: { path: `${STORAGE_BASE}/buckets/:bucket/objects/*` },
} as const;

/** Header names of the storage API (besides ETag, Content-Type, Content-Length, Range, If-*). */
export const STORAGE_HEADERS = {
  versionId: 'x-flotilla-version-id',
  /** S3's `x-amz-copy-source`: `<bucket>/<key>` (key percent-encoded as in the path). */
  copySource: 'x-flotilla-copy-source',
  copySourceVersionId: 'x-flotilla-copy-source-version-id',
  deleteMarker: 'x-flotilla-delete-marker',
  /** The plaintext SHA-256, as the ETag (quoted hex). */
  etag: 'etag',
} as const;

/** S3 allows 1,024 bytes of UTF-8 for a key; so do we. */
export const MAX_KEY_BYTES = 1024;

export const BucketName = Type.String({
  pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
  description: 'S3 rules: 3-63 lower-case letters, digits, dots and dashes',
});
export const BucketParams = Type.Object({ bucket: BucketName }, { additionalProperties: false });

export const BucketInfo = Type.Object({
  name: BucketName,
  versioning: Type.Boolean(),
  maxObjectSize: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  contentTypes: Type.Union([Type.Array(Type.String()), Type.Null()]),
});
export type BucketInfo = Static<typeof BucketInfo>;
export const BucketList = Type.Object({ buckets: Type.Array(BucketInfo) });

export const ListQuery = Type.Object(
  {
    prefix: Type.Optional(Type.String({ maxLength: 1024 })),
    delimiter: Type.Optional(Type.String({ minLength: 1, maxLength: 16 })),
    'max-keys': Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 1000 })),
    'continuation-token': Type.Optional(Type.String({ maxLength: 4096 })),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

export const ObjectInfo = Type.Object({
  key: Type.String(),
  size: Type.Integer({ minimum: 0 }),
  /** Quoted hex SHA-256 of the plaintext. */
  etag: Type.String(),
  contentType: Type.String(),
  /** ISO 8601. */
  lastModified: Type.String(),
  /** null in a bucket without versioning. */
  versionId: Type.Union([Type.String(), Type.Null()]),
});
export type ObjectInfo = Static<typeof ObjectInfo>;

export const ListResult = Type.Object({
  bucket: BucketName,
  prefix: Type.String(),
  delimiter: Type.Union([Type.String(), Type.Null()]),
  objects: Type.Array(ObjectInfo),
  /** With a delimiter: the distinct key prefixes up to and including the next delimiter. */
  commonPrefixes: Type.Array(Type.String()),
  isTruncated: Type.Boolean(),
  nextContinuationToken: Type.Union([Type.String(), Type.Null()]),
});
export type ListResult = Static<typeof ListResult>;

/** The answer to a put or a copy. */
export const PutResult = Type.Object({
  bucket: BucketName,
  key: Type.String(),
  etag: Type.String(),
  size: Type.Integer({ minimum: 0 }),
  versionId: Type.Union([Type.String(), Type.Null()]),
});
export type PutResult = Static<typeof PutResult>;

export const DeleteResult = Type.Object({
  /** Versioned bucket, no versionId asked: a delete marker was added (S3 semantics). */
  deleteMarker: Type.Boolean(),
  versionId: Type.Union([Type.String(), Type.Null()]),
});
export type DeleteResult = Static<typeof DeleteResult>;

/** The effective policy of a bucket: the fleet's policies that name it, and the bucket's own file. */
export const BucketPolicy = Type.Object({
  bucket: BucketName,
  /** The bucket's own `.cedar` text (empty without one). */
  bucketPolicy: Type.String(),
  /** Path of the bucket's policy file, or null. */
  file: Type.Union([Type.String(), Type.Null()]),
  /** Ids of the fleet policies that mention this bucket, or any storage action. */
  fleetPolicies: Type.Array(Type.Object({ id: Type.String(), text: Type.String() })),
});
export type BucketPolicy = Static<typeof BucketPolicy>;

/**
 * The path of one object: each key segment percent-encoded. A key with a `.` or `..`
 * segment is refused here (see {@link objectKeyProblem}): URL parsers resolve such
 * segments, `%2E%2E` included, so the request would name another key.
 */
export function objectPath(bucket: string, key: string): string {
  const problem = objectKeyProblem(key);
  if (problem) throw new FlotillaError('FLT_OBJECT_KEY_INVALID', problem);
  const encoded = key
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
  return `${STORAGE_BASE}/buckets/${encodeURIComponent(bucket)}/objects/${encoded}`;
}

/** Why a key is refused, or undefined when it is acceptable. */
export function objectKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'the object key is empty';
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES)
    return `the object key is longer than ${MAX_KEY_BYTES} bytes of UTF-8`;
  if (key.includes('\0')) return 'the object key contains NUL';
  if (key.startsWith('/')) return 'the object key starts with /';
  if (key.split('/').some((s) => s === '..' || s === '.')) return 'the object key has a . or .. segment';
  // With the u flag, only a lone surrogate matches: the key must be valid UTF-16.
  if (/[\uD800-\uDFFF]/u.test(key)) return 'the object key is not well-formed Unicode';
  return undefined;
}
