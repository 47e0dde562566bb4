import { Transform, type TransformCallback } from 'node:stream';
import { FlotillaError } from '@flotilla/kit';

/** A streamed body went past its limit (`FLT_BODY_TOO_LARGE`, 413). */
export class BodyTooLargeError extends FlotillaError {
  constructor(limit: number) {
    super('FLT_BODY_TOO_LARGE', `request body is larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Counts a streamed request body and fails it past `limit` bytes. A declared
 * `Content-Length` over the limit is refused before this; this catches chunked bodies.
 */
export function limitBody(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      seen += chunk.length;
      if (seen > limit) done(new BodyTooLargeError(limit));
      else done(null, chunk);
    },
  });
}
