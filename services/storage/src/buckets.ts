import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ConfigError } from '@flotilla/kit';
import { BucketName } from '@flotilla/kit/contracts';

/** One bucket as the buckets file (and the fleet file's `buckets:`) declares it. */
export const BucketDeclaration = Type.Object(
  {
    name: BucketName,
    /** Bytes of plaintext; larger puts are refused while streaming (413). */
    maxObjectSize: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Media types a put may have (`type/subtype`, or `type/*`); anything else is 415. */
    contentTypes: Type.Optional(
      Type.Array(Type.String({ pattern: '^[a-z0-9!#$&^_.+-]+/([a-z0-9!#$&^_.+-]+|\\*)$' }), { minItems: 1 }),
    ),
    versioning: Type.Optional(Type.Boolean()),
    /** The KMS key this bucket's data keys come from; default STORAGE_KMS_KEY (`storage`). */
    key: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$' })),
    /** A `.cedar` file of this bucket's own policies (relative to the buckets file). */
    policy: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
export type BucketDeclaration = Static<typeof BucketDeclaration>;
const BucketFile = Type.Array(BucketDeclaration);
const checkFile = TypeCompiler.Compile(BucketFile);

export interface Bucket {
  name: string;
  maxObjectSize: number | undefined;
  contentTypes: string[] | undefined;
  versioning: boolean;
  /** The KMS key of its data keys; undefined: the service's STORAGE_KMS_KEY. */
  key?: string | undefined;
  /** Absolute path of the bucket's policy file. */
  policyFile: string | undefined;
}

/** Reads `STORAGE_BUCKETS_FILE` (JSON); a bad file is one ConfigError naming what is wrong. */
export function readBucketsFile(file: string): Bucket[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError('STORAGE_BUCKETS_FILE', `${file}: ${(err as Error).message}`);
  }
  return toBuckets(json, dirname(resolve(file)), file);
}

export function toBuckets(json: unknown, baseDir: string, source: string): Bucket[] {
  if (!checkFile.Check(json)) {
    const first = checkFile.Errors(json).First();
    throw new ConfigError(
      'STORAGE_BUCKETS_FILE',
      `${source}: ${first?.path || '/'} ${first?.message ?? 'is invalid'}`,
    );
  }
  const seen = new Set<string>();
  return json.map((b) => {
    if (seen.has(b.name))
      throw new ConfigError('STORAGE_BUCKETS_FILE', `${source}: bucket ${b.name} is declared twice`);
    seen.add(b.name);
    return Object.freeze({
      name: b.name,
      maxObjectSize: b.maxObjectSize,
      contentTypes: b.contentTypes,
      versioning: b.versioning ?? false,
      key: b.key,
      policyFile: b.policy === undefined ? undefined : resolve(baseDir, b.policy),
    });
  });
}

/** Whether a put's media type is one the bucket allows (parameters such as charset ignored). */
export function contentTypeAllowed(bucket: Bucket, contentType: string): boolean {
  if (!bucket.contentTypes) return true;
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return bucket.contentTypes.some((allowed) =>
    allowed.endsWith('/*') ? type.startsWith(allowed.slice(0, -1)) : type === allowed,
  );
}
