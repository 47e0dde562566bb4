import { FlotillaError, type ServiceContext } from '@flotilla/kit';

type Call = ServiceContext['call'];
type Answer = Awaited<ReturnType<Call>>;

/**
 * How video-streaming asks metadata about a video. `visibleTo` asks with the user's own
 * token (issuing a stream token: metadata's policy decides whether this user may watch);
 * `exists` asks metadata's service route (streaming: the browser's request carries no
 * user token, only the stream token we issued), so a deleted video stops streaming at once.
 */
export interface VideoLookup {
  /** Throws 404 when the video does not exist, 403 when this user may not watch it. */
  visibleTo(id: string, authorization: string): Promise<void>;
  /** Throws 404 when the video does not exist (or was deleted). */
  exists(id: string): Promise<void>;
}

export function metadataLookup(ctx: Pick<ServiceContext, 'call'>, service: string): VideoLookup {
  const ask = async (path: string, headers: Record<string, string>): Promise<void> => {
    let res: Answer;
    try {
      res = await ctx.call(service, { method: 'GET', path, headers, timeoutMs: 5_000 });
    } catch (err) {
      if (err instanceof FlotillaError) throw err;
      throw new FlotillaError('FLT_UPSTREAM_FAILED', `${service} could not be reached`, { cause: err });
    }
    await res.body.dump();
    if (res.statusCode === 200) return;
    if (res.statusCode === 404) throw new FlotillaError('FLT_NOT_FOUND', 'no such video');
    if (res.statusCode === 403) throw new FlotillaError('FLT_FORBIDDEN', 'you may not watch this video');
    if (res.statusCode === 401) throw new FlotillaError('FLT_UNAUTHENTICATED', 'sign in to watch');
    throw new FlotillaError('FLT_UPSTREAM_FAILED', `${service} answered ${res.statusCode}`);
  };
  return {
    visibleTo: (id, authorization) =>
      ask(`/videos/${encodeURIComponent(id)}`, { authorization, accept: 'application/json' }),
    exists: (id) => ask(`/internal/videos/${encodeURIComponent(id)}`, { accept: 'application/json' }),
  };
}
