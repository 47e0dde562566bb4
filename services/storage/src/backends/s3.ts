import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ConfigError } from '@flotilla/kit';
import type { BlobBackend } from './backend.js';

export interface S3Target {
  bucket: string;
  /** Key prefix of Flotilla's blobs in the bucket. */
  prefix: string;
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
  /** `aws:kms` to add S3's own SSE-KMS on top (AWS only); the blobs are Flotilla-encrypted either way. */
  sse: string | undefined;
  sseKmsKeyId: string | undefined;
}

/**
 * `s3://bucket/prefix?endpoint=http://127.0.0.1:9000&forcePathStyle=true&region=…`.
 * Credentials come the SDK's usual way (environment, profile, instance role).
 */
export function parseS3Url(url: URL): S3Target {
  if (!url.hostname) throw new ConfigError('STORAGE_URL', 'STORAGE_URL s3:// needs a bucket name');
  const q = url.searchParams;
  return {
    bucket: url.hostname,
    prefix: url.pathname.replace(/^\/+/, '').replace(/\/?$/, url.pathname.length > 1 ? '/' : ''),
    endpoint: q.get('endpoint') ?? undefined,
    region: q.get('region') ?? process.env.AWS_REGION ?? 'us-east-1',
    forcePathStyle: q.get('forcePathStyle') === 'true',
    sse: q.get('sse') ?? undefined,
    sseKmsKeyId: q.get('sseKmsKeyId') ?? undefined,
  };
}

/**
 * Blobs as S3 objects. A put is a multipart upload streamed in parts (`lib-storage`), so
 * S3 shows the object only when it completes: an interrupted put leaves an unfinished
 * upload, never a partial object; `cleanup` aborts those at start.
 */
export class S3Backend implements BlobBackend {
  readonly kind = 's3';
  private readonly client: S3Client;

  constructor(private readonly target: S3Target) {
    this.client = new S3Client({
      region: target.region,
      forcePathStyle: target.forcePathStyle,
      ...(target.endpoint ? { endpoint: target.endpoint } : {}),
    });
  }

  private keyOf(name: string): string {
    return `${this.target.prefix}${name}`;
  }

  async write(name: string, chunks: AsyncIterable<Buffer>): Promise<void> {
    const upload = new Upload({
      client: this.client,
      queueSize: 4,
      partSize: 8 * 1024 * 1024,
      leavePartsOnError: false,
      params: {
        Bucket: this.target.bucket,
        Key: this.keyOf(name),
        Body: Readable.from(chunks, { objectMode: false }),
        ContentType: 'application/octet-stream',
        ...(this.target.sse === 'aws:kms'
          ? {
              ServerSideEncryption: 'aws:kms',
              ...(this.target.sseKmsKeyId ? { SSEKMSKeyId: this.target.sseKmsKeyId } : {}),
            }
          : {}),
      },
    });
    await upload.done();
  }

  read(name: string, start: number, end: number): Readable {
    // A Readable at once, filled when S3 answers: callers stream alike on both backends.
    const out = new Readable({ read() {} });
    this.client
      .send(
        new GetObjectCommand({
          Bucket: this.target.bucket,
          Key: this.keyOf(name),
          Range: `bytes=${start}-${end - 1}`,
        }),
      )
      .then((res) => {
        const body = res.Body as Readable | undefined;
        if (!body) throw new Error('S3 answered without a body');
        body.on('data', (chunk: Buffer) => {
          if (!out.push(chunk)) body.pause();
        });
        out._read = () => body.resume();
        body.on('end', () => out.push(null));
        body.on('error', (err) => out.destroy(err));
        out.on('close', () => body.destroy());
      })
      .catch((err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))));
    return out;
  }

  async delete(name: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.target.bucket, Key: this.keyOf(name) }));
  }

  async *names(): AsyncIterable<string> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.target.bucket,
          Prefix: this.target.prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const o of page.Contents ?? []) if (o.Key) yield o.Key.slice(this.target.prefix.length);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async cleanup(): Promise<void> {
    // Not every S3-compatible server lists uploads; an unfinished upload is invisible anyway.
    try {
      const res = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.target.bucket, Prefix: this.target.prefix }),
      );
      for (const u of res.Uploads ?? []) {
        if (u.Key && u.UploadId)
          await this.client.send(
            new AbortMultipartUploadCommand({ Bucket: this.target.bucket, Key: u.Key, UploadId: u.UploadId }),
          );
      }
    } catch {
      // nothing to clean, or nothing we may clean
    }
  }

  close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }
}
