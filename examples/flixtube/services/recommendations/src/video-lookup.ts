import { FlotillaError, type ServiceContext } from '@flotilla/kit';

export interface VideoSummary {
  id: string;
  title: string;
}

/**
 * How recommendations learns what a video is called: by asking metadata with the user's own token, so
 * metadata's policy decides what this user may see. An interface so tests can run recommendations
 * without a control plane.
 */
export interface VideoLookup {
  /**
   * The video as metadata shows it to the bearer of `authorization`; undefined when it
   * does not exist. Throws 403 when the user may not see it, 502/503 when metadata fails.
   */
  find(id: string, authorization: string): Promise<VideoSummary | undefined>;
}

/** The real lookup: `GET /videos/:id` on metadata over mTLS, through the kit's discovery. */
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
      if (res.statusCode === 404) {
        await res.body.dump();
        return undefined;
      }
      if (res.statusCode === 403) {
        await res.body.dump();
        throw new FlotillaError('FLT_FORBIDDEN', 'you may not watch this video');
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new FlotillaError('FLT_UPSTREAM_FAILED', `${service} answered ${res.statusCode}`);
      }
      const video = (await res.body.json()) as { id?: unknown; title?: unknown } | null;
      if (!video || video.id !== id || typeof video.title !== 'string') {
        throw new FlotillaError(
          'FLT_UPSTREAM_FAILED',
          `${service} answered with something that is not the video`,
        );
      }
      return { id, title: video.title };
    },
  };
}
