/** A service's answer, read whole: bytes for streams and images, JSON on demand. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json(): Record<string, unknown>;
}

/** What `ctx.call` resolves with, as far as `answerOf` reads it. */
interface CallResponse {
  statusCode: number;
  headers: Answer['headers'];
  body: { arrayBuffer(): Promise<ArrayBuffer> };
}

/** Reads `res` (what `ctx.call` resolves with) into an `Answer`. */
export async function answerOf(res: CallResponse): Promise<Answer> {
  const body = Buffer.from(await res.body.arrayBuffer());
  return {
    status: res.statusCode,
    headers: res.headers,
    body,
    json: () => JSON.parse(body.toString('utf8')) as Record<string, unknown>,
  };
}
