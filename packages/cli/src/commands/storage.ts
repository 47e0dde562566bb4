import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { StorageClient } from '@flotilla/kit/contracts';
import { type Args, type Handler, str } from '../cli/spec.js';
import { UsageError } from '../cli/usage-error.js';
import { withOperator } from '../control-plane/operator.js';
import { Progress } from '../storage/progress.js';

/** Runs `use` with a StorageClient as the `operator` workload (mTLS; the bucket policies decide). */
function withStorage<T>(args: Args, use: (storage: StorageClient) => Promise<T>): Promise<T> {
  return withOperator(args, async ({ mtls, urlOf }) => {
    const url = await urlOf('storage');
    // The wait for headers and between chunks, not for a whole transfer.
    return use(new StorageClient((r) => mtls.request('storage', url, { ...r, timeoutMs: 60_000 })));
  });
}

/** `<bucket>/<key>` (the key may hold more slashes); `needKey` refuses a bare bucket. */
function target(arg: string | undefined, needKey: boolean): { bucket: string; key: string } {
  const text = arg ?? '';
  const slash = text.indexOf('/');
  const bucket = slash < 0 ? text : text.slice(0, slash);
  const key = slash < 0 ? '' : text.slice(slash + 1);
  if (!bucket || (needKey && !key)) throw new UsageError(`expected <bucket>/<key>, got "${text}"`);
  return { bucket, key };
}

/** `flotilla storage ls [<bucket>[/<prefix>]]`: the buckets, one a line; or a bucket's objects and prefixes. */
export const ls: Handler = (args) =>
  withStorage(args, async (storage) => {
    const [arg] = args.positionals;
    if (!arg) {
      for (const b of await storage.listBuckets()) console.log(b.name);
      return 0;
    }
    const { bucket, key: prefix } = target(arg, false);
    for await (const page of storage.listAll(bucket, { prefix, delimiter: '/' })) {
      for (const p of page.commonPrefixes) console.log(`${'PRE'.padStart(12)}  ${' '.repeat(24)}  ${p}`);
      for (const o of page.objects)
        console.log(`${String(o.size).padStart(12)}  ${o.lastModified}  ${o.key}`);
    }
    return 0;
  });

/** `flotilla storage put <bucket>/<key> <file|-> [--content-type T]`: streamed, with a progress bar on a terminal. */
export const put: Handler = async (args) => {
  const { bucket, key } = target(args.positionals[0], true);
  const source = args.positionals[1];
  if (!source) throw new UsageError('storage put: name a file, or - for standard input');
  const size = source === '-' ? undefined : (await stat(source)).size;
  const progress = new Progress(`put ${bucket}/${key}`, size);
  const input = source === '-' ? process.stdin : createReadStream(source);
  const contentType = str(args, 'content-type') ?? 'application/octet-stream';
  const result = await withStorage(args, (storage) =>
    storage.put(bucket, key, input.pipe(progress.meter()), {
      contentType,
      ...(size !== undefined ? { contentLength: size } : {}),
    }),
  );
  progress.done();
  console.log(
    `${bucket}/${key} ${result.size} bytes etag ${result.etag}${result.versionId ? ` version ${result.versionId}` : ''}`,
  );
  return 0;
};

/** `flotilla storage get <bucket>/<key> [<file>]`: standard output without a file. */
export const get: Handler = async (args) => {
  const { bucket, key } = target(args.positionals[0], true);
  const file = args.positionals[1];
  await withStorage(args, async (storage) => {
    const got = await storage.get(
      bucket,
      key,
      str(args, 'version') ? { versionId: str(args, 'version')! } : {},
    );
    const progress = new Progress(`get ${bucket}/${key}`, got.length);
    if (!file) {
      await pipeline(got.body, progress.meter(), process.stdout);
    } else {
      // A partial download never takes the file's name.
      const partial = `${file}.partial`;
      try {
        await pipeline(got.body, progress.meter(), createWriteStream(partial, { mode: 0o600 }));
        await rename(partial, file);
      } catch (err) {
        await rm(partial, { force: true });
        throw err;
      }
    }
    progress.done();
  });
  return 0;
};

/** `flotilla storage rm <bucket>/<key>`. */
export const rmObject: Handler = (args) =>
  withStorage(args, async (storage) => {
    const { bucket, key } = target(args.positionals[0], true);
    const result = await storage.delete(bucket, key);
    console.log(
      `removed ${bucket}/${key}${result.deleteMarker ? ` (delete marker ${result.versionId ?? ''})` : ''}`,
    );
    return 0;
  });

/** `flotilla storage policy <bucket>`: the bucket's own policy file and the fleet policies about storage. */
export const policy: Handler = (args) =>
  withStorage(args, async (storage) => {
    const { bucket } = target(args.positionals[0], false);
    const p = await storage.policy(bucket);
    console.log(`// bucket ${p.bucket}: ${p.file ?? 'no policy file of its own'}`);
    if (p.bucketPolicy) console.log(p.bucketPolicy.trimEnd());
    for (const f of p.fleetPolicies) console.log(`\n// fleet policy ${f.id}\n${f.text.trimEnd()}`);
    return 0;
  });
