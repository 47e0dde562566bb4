import { FlotillaError, type ServiceContext } from '@flotilla/kit';

/** What FlixTube's services take from metadata's answer about one video. */
export interface VideoSummary {
  id: string;
  title: string;
  /** The uploader's `sub`: the Cedar entity's owner (likes decides on it). */
  owner: string;
}

/**
 * How a service learns about a video: by asking metadata with the user's own token, so
 * metadata's policy decides what this user may see. An interface so tests can run a
 * service without a control plane.
 */
export interface VideoLookup {
  /**
   * The video as metadata shows it to the bearer of `authorization`; undefined when it
   * does not exist. Throws 403 when the user may not see it, 502/503 when metadata fails.
   */
  find(id: string, authorization: string): Promise<VideoSummary | undefined>;
}

/**
 * The real lookup: `GET /videos/:id` on metadata over mTLS, through the kit's discovery.
 *
 * @example
 * const lookup = metadataLookup(ctx, config.METADATA_SERVICE);
 * const video = await lookup.find(id, req.headers.authorization);
 */
export function metadataLookup(ctx: Pick<ServiceContext, 'call'>, service = 'metadata'): VideoLookup {
  return {
    async find(id, authorization) {
      let res: Awaited<ReturnType<ServiceContext['call']>>;
      try {
        res = await ctx.call(service, {
          method: 'GET',
          path: `/videos/${encodeURIComponent(id)}`,
          headers: { authorization, accept: 'application/json' },
          timeoutMs: 5_000,
        });
      } catch (err) {
        if (err instanceof FlotillaError) throw err;
        throw new FlotillaError('FLT_UPSTREAM_FAILED', `${service} could not be reached`, { cause: err });
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        if (res.statusCode === 404) return undefined;
        if (res.statusCode === 403) throw new FlotillaError('FLT_FORBIDDEN', 'you may not watch this video');
        throw new FlotillaError('FLT_UPSTREAM_FAILED', `${service} answered ${res.statusCode}`);
      }
      return summaryOf(await res.body.json(), id, service);
    },
  };
}

/** Takes only what the services need from metadata's answer, and checks it is the video asked for. */
export function summaryOf(body: unknown, id: string, service = 'metadata'): VideoSummary {
  const video = body as { id?: unknown; title?: unknown; owner?: unknown } | null;
  if (!video || video.id !== id || typeof video.title !== 'string' || typeof video.owner !== 'string')
    throw new FlotillaError(
      'FLT_UPSTREAM_FAILED',
      `${service} answered with something that is not the video`,
    );
  return { id, title: video.title, owner: video.owner };
}
