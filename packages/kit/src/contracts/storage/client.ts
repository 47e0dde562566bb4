import { Readable } from 'node:stream';
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { Dispatcher } from 'undici';
import { type ErrorCode, FlotillaError } from '../../errors/index.js';
import {
  BucketList,
  BucketPolicy,
  type BucketInfo,
  DeleteResult,
  ListResult,
  objectPath,
  PutResult,
  STORAGE_BASE,
  STORAGE_HEADERS,
} from './schemas.js';

/** One request to the storage service; the body of a put streams through. */
export interface StorageRequest {
  method: 'GET' | 'PUT' | 'HEAD' | 'DELETE';
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer | Readable;
}
export type StorageTransport = (request: StorageRequest) => Promise<Dispatcher.ResponseData>;

/**
 * The transport of a service on the kit: `ctx.call(service, …)` (discovery, balancing,
 * mTLS with the SPIFFE check of `svc/<service>`). `timeoutMs` is the wait for headers
 * and between body chunks, not for a whole transfer.
 *
 * @example
 * const storage = new StorageClient(storageOverCall((s, r) => ctx.call(s, r)));
 */
export function storageOverCall(
  call: (
    service: string,
    request: StorageRequest & { timeoutMs?: number },
  ) => Promise<Dispatcher.ResponseData>,
  service = 'storage',
  timeoutMs = 30_000,
): StorageTransport {
  return (request) => call(service, { ...request, timeoutMs });
}

/** What can be put: a stream, an async iterable of chunks, or bytes in hand. */
export type PutBody = Readable | AsyncIterable<Uint8Array> | Uint8Array | string;

export interface PutOptions {
  contentType?: string;
  /** Put only if the current object's ETag is this one (optimistic concurrency). */
  ifMatch?: string;
  /** `*`: create only, never overwrite. */
  ifNoneMatch?: string;
  /** Known size: lets the service refuse an object over the bucket's limit before reading it. */
  contentLength?: number;
}

export interface GetOptions {
  /** One range, inclusive bounds as in HTTP (`end` omitted: to the end of the object). */
  range?: { start: number; end?: number };
  versionId?: string;
  ifMatch?: string;
  ifNoneMatch?: string;
}

/** An object's description from its response headers. */
export interface ObjectHead {
  size: number;
  etag: string;
  contentType: string;
  lastModified: string;
  versionId: string | null;
}

export interface GetResult extends ObjectHead {
  /** 200, or 206 for a range. */
  status: number;
  /** `bytes a-b/size` for a range. */
  contentRange: string | undefined;
  /** The plaintext (a Readable with undici's `text()`, `arrayBuffer()`); consume it or destroy it. */
  body: Dispatcher.ResponseData['body'];
  /** Bytes in `body`. */
  length: number;
}

export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  maxKeys?: number;
  continuationToken?: string;
}

const checks = new Map<TSchema, ReturnType<typeof TypeCompiler.Compile>>();
function matches<T extends TSchema>(schema: T, value: unknown): value is Static<T> {
  let check = checks.get(schema);
  if (!check) checks.set(schema, (check = TypeCompiler.Compile(schema)));
  return check.Check(value);
}

/** HEAD answers carry no body: the code comes from the status. */
const CODE_OF_STATUS: Record<number, ErrorCode> = {
  400: 'FLT_BAD_REQUEST',
  403: 'FLT_FORBIDDEN',
  404: 'FLT_NOT_FOUND',
  412: 'FLT_PRECONDITION_FAILED',
  416: 'FLT_RANGE_NOT_SATISFIABLE',
};

/**
 * Flotilla's object storage: buckets of objects, encrypted at rest by the service (a data
 * key per object), decided per bucket by Cedar policies for the calling identity.
 * Bodies stream both ways; nothing here holds an object whole.
 *
 * @example
 * const storage = new StorageClient(storageOverCall((s, r) => ctx.call(s, r)));
 * await storage.put('videos', 'cats/1.mp4', createReadStream(file), { contentType: 'video/mp4' });
 * const { body } = await storage.get('videos', 'cats/1.mp4', { range: { start: 0, end: 1023 } });
 */
export class StorageClient {
  readonly #send: StorageTransport;

  constructor(transport: StorageTransport) {
    this.#send = transport;
  }

  async listBuckets(): Promise<BucketInfo[]> {
    return (await this.#json('GET', `${STORAGE_BASE}/buckets`, BucketList)).buckets;
  }

  /** One page of a bucket's objects (S3 ListObjectsV2). */
  list(bucket: string, opts: ListOptions = {}): Promise<ListResult> {
    const query = new URLSearchParams();
    if (opts.prefix) query.set('prefix', opts.prefix);
    if (opts.delimiter) query.set('delimiter', opts.delimiter);
    if (opts.maxKeys) query.set('max-keys', String(opts.maxKeys));
    if (opts.continuationToken) query.set('continuation-token', opts.continuationToken);
    const q = query.size ? `?${query.toString()}` : '';
    return this.#json('GET', `${STORAGE_BASE}/buckets/${encodeURIComponent(bucket)}${q}`, ListResult);
  }

  /** Every page of a listing, one after the other. */
  async *listAll(
    bucket: string,
    opts: Omit<ListOptions, 'continuationToken'> = {},
  ): AsyncGenerator<ListResult> {
    let token: string | undefined;
    do {
      const page = await this.list(bucket, { ...opts, ...(token ? { continuationToken: token } : {}) });
      yield page;
      token = page.nextContinuationToken ?? undefined;
    } while (token);
  }

  /** Streams `body` in; acknowledged once the object and its metadata are durable. */
  put(bucket: string, key: string, body: PutBody, opts: PutOptions = {}): Promise<PutResult> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': opts.contentType ?? 'application/octet-stream',
    };
    if (opts.ifMatch) headers['if-match'] = opts.ifMatch;
    if (opts.ifNoneMatch) headers['if-none-match'] = opts.ifNoneMatch;
    if (opts.contentLength !== undefined) headers['content-length'] = String(opts.contentLength);
    return this.#json('PUT', objectPath(bucket, key), PutResult, headers, toBody(body));
  }

  /** The object's plaintext as a stream; with `range`, only those bytes (206). */
  async get(bucket: string, key: string, opts: GetOptions = {}): Promise<GetResult> {
    const headers = conditionHeaders(opts);
    if (opts.range) headers.range = `bytes=${opts.range.start}-${opts.range.end ?? ''}`;
    const res = await this.#send({
      method: 'GET',
      path: withVersion(objectPath(bucket, key), opts.versionId),
      headers,
    });
    if (res.statusCode >= 400) throw await problemOf(res);
    const head = headOf(res.headers);
    const range = header(res.headers, 'content-range');
    return {
      ...head,
      status: res.statusCode,
      contentRange: range,
      length: Number(header(res.headers, 'content-length') ?? head.size),
      body: res.body,
    };
  }

  async head(bucket: string, key: string, opts: Omit<GetOptions, 'range'> = {}): Promise<ObjectHead> {
    const res = await this.#send({
      method: 'HEAD',
      path: withVersion(objectPath(bucket, key), opts.versionId),
      headers: conditionHeaders(opts),
    });
    await res.body.dump();
    if (res.statusCode >= 400)
      throw new FlotillaError(
        CODE_OF_STATUS[res.statusCode] ?? 'FLT_UPSTREAM_FAILED',
        `HEAD ${key}: ${res.statusCode}`,
      );
    return headOf(res.headers);
  }

  /** Deletes the object (or one version of it); in a versioned bucket without a version, adds a delete marker. */
  delete(
    bucket: string,
    key: string,
    opts: { versionId?: string; ifMatch?: string } = {},
  ): Promise<DeleteResult> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.ifMatch) headers['if-match'] = opts.ifMatch;
    return this.#json('DELETE', withVersion(objectPath(bucket, key), opts.versionId), DeleteResult, headers);
  }

  /** Copies an object inside the service (re-encrypted under a fresh data key for its new name). */
  copy(
    from: { bucket: string; key: string; versionId?: string },
    to: { bucket: string; key: string },
    opts: Pick<PutOptions, 'ifMatch' | 'ifNoneMatch'> = {},
  ): Promise<PutResult> {
    const source = objectPath(from.bucket, from.key)
      .slice(`${STORAGE_BASE}/buckets/`.length)
      .replace('/objects/', '/');
    const headers: Record<string, string> = {
      accept: 'application/json',
      [STORAGE_HEADERS.copySource]: source,
    };
    if (from.versionId) headers[STORAGE_HEADERS.copySourceVersionId] = from.versionId;
    if (opts.ifMatch) headers['if-match'] = opts.ifMatch;
    if (opts.ifNoneMatch) headers['if-none-match'] = opts.ifNoneMatch;
    return this.#json('PUT', objectPath(to.bucket, to.key), PutResult, headers);
  }

  /** The bucket's effective policy: its own file and the fleet policies about storage. */
  policy(bucket: string): Promise<BucketPolicy> {
    return this.#json('GET', `${STORAGE_BASE}/buckets/${encodeURIComponent(bucket)}/policy`, BucketPolicy);
  }

  async #json<T extends TSchema>(
    method: StorageRequest['method'],
    path: string,
    answer: T,
    headers: Record<string, string> = { accept: 'application/json' },
    body?: StorageRequest['body'],
  ): Promise<Static<T>> {
    const res = await this.#send({ method, path, headers, ...(body !== undefined ? { body } : {}) });
    if (res.statusCode >= 400) throw await problemOf(res);
    let json: unknown;
    try {
      json = await res.body.json();
    } catch (cause) {
      throw new FlotillaError('FLT_UPSTREAM_FAILED', `storage answered ${res.statusCode} without JSON`, {
        cause,
      });
    }
    if (!matches(answer, json))
      throw new FlotillaError('FLT_UPSTREAM_FAILED', `storage answered ${path} unexpectedly`);
    return json;
  }
}

function toBody(body: PutBody): string | Buffer | Readable {
  if (typeof body === 'string') return body;
  if (body instanceof Readable) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return Readable.from(body, { objectMode: false });
}

function withVersion(path: string, versionId: string | undefined): string {
  return versionId ? `${path}?versionId=${encodeURIComponent(versionId)}` : path;
}

function conditionHeaders(opts: { ifMatch?: string; ifNoneMatch?: string }): Record<string, string> {
  const headers: Record<string, string> = {};
  if (opts.ifMatch) headers['if-match'] = opts.ifMatch;
  if (opts.ifNoneMatch) headers['if-none-match'] = opts.ifNoneMatch;
  return headers;
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function headOf(headers: Dispatcher.ResponseData['headers']): ObjectHead {
  const range = header(headers, 'content-range');
  const total = range ? Number(range.split('/')[1]) : Number(header(headers, 'content-length') ?? 0);
  return {
    size: total,
    etag: header(headers, 'etag') ?? '',
    contentType: header(headers, 'content-type') ?? 'application/octet-stream',
    lastModified: header(headers, 'last-modified') ?? '',
    versionId: header(headers, STORAGE_HEADERS.versionId) ?? null,
  };
}

/** RFC 9457: a refusal is problem+json; rebuilt with its stable code. */
async function problemOf(res: Dispatcher.ResponseData): Promise<FlotillaError> {
  let json: unknown;
  try {
    json = await res.body.json();
  } catch {
    return new FlotillaError(
      CODE_OF_STATUS[res.statusCode] ?? 'FLT_UPSTREAM_FAILED',
      `storage answered ${res.statusCode}`,
    );
  }
  return FlotillaError.fromProblem(json);
}
