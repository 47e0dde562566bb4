import { FlotillaError, type ServiceContext } from '@flotilla/kit';
import { objectPath } from '@flotilla/kit/contracts';
import { type ByteRange, rangeHeader } from './byte-range.js';

type Answer = Awaited<ReturnType<ServiceContext['call']>>;

/** The object's answer as the client gets it: status, the headers that describe the bytes, the stream. */
export interface VideoBytes {
  status: number;
  headers: Record<string, string>;
  body: Answer['body'];
}

// What storage says about the bytes that the client needs; nothing else of storage's answer passes.
const PASSED = ['content-type', 'content-length', 'content-range', 'etag', 'last-modified'] as const;

/**
 * Reads `bucket/<videoId>` from storage with the caller's range, streaming: storage opens
 * only the encrypted segments the range touches, and the body is handed on as it comes.
 * Storage decides the range against the object's size (206, or 416 with
 * `Content-Range: bytes *\/size`); its refusals come back as the same error.
 */
export async function readVideo(
  ctx: Pick<ServiceContext, 'call'>,
  storage: string,
  bucket: string,
  videoId: string,
  range: ByteRange | undefined,
): Promise<VideoBytes> {
  let res: Answer;
  try {
    res = await ctx.call(storage, {
      method: 'GET',
      path: objectPath(bucket, videoId),
      headers: range ? { range: rangeHeader(range) } : {},
      timeoutMs: 30_000,
    });
  } catch (err) {
    if (err instanceof FlotillaError) throw err;
    throw new FlotillaError('FLT_UPSTREAM_FAILED', `${storage} could not be reached`, { cause: err });
  }
  if (res.statusCode >= 400) throw await refusal(res, videoId);
  const headers: Record<string, string> = { 'accept-ranges': 'bytes' };
  for (const name of PASSED) {
    const v = res.headers[name];
    const value = Array.isArray(v) ? v[0] : v;
    if (value !== undefined) headers[name] = value;
  }
  return { status: res.statusCode, headers, body: res.body };
}

async function refusal(res: Answer, videoId: string): Promise<FlotillaError> {
  let problem: unknown;
  try {
    problem = await res.body.json();
  } catch {
    problem = undefined;
  }
  if (res.statusCode === 404) return new FlotillaError('FLT_NOT_FOUND', `video ${videoId} has no file`);
  if (res.statusCode === 416) {
    const range = res.headers['content-range'];
    return new FlotillaError('FLT_RANGE_NOT_SATISFIABLE', 'the range is beyond the end of the video', {
      headers: { 'content-range': (Array.isArray(range) ? range[0] : range) ?? 'bytes */0' },
    });
  }
  if (res.statusCode === 403)
    // Storage refusing us is our configuration's fault, not the viewer's.
    return new FlotillaError('FLT_UPSTREAM_FAILED', 'storage refused to read the video');
  return problem
    ? FlotillaError.fromProblem(problem)
    : new FlotillaError('FLT_UPSTREAM_FAILED', `storage answered ${res.statusCode}`);
}
