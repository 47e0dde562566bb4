import { callerOf, FlotillaError, type ServiceApp, type ServiceContext, type User } from '@flotilla/kit';
import { RecommendationsBody, RecommendationsQuery } from './schemas.js';
import type { Candidate, SignalStore } from './signal-store.js';
import type { VideoLookup } from '@flixtube/common';

interface Deps {
  store: SignalStore;
  lookup: VideoLookup;
  log: ServiceContext['log'];
}

// Enough to hide metadata's latency without one page flooding it.
const CONCURRENCY = 8;
// Candidates asked for beyond the limit, so that videos metadata no longer shows can drop out.
const SPARE = 10;

type Reason = 'co-viewed' | 'popular';

/** Only a person has recommendations; an application acting for itself has no history. */
function person(user: User): User {
  if (user.kind !== 'user')
    throw new FlotillaError('FLT_FORBIDDEN', 'only a signed-in person has recommendations');
  return user;
}

export function recommendationRoutes(app: ServiceApp, { store, lookup, log }: Deps): void {
  /**
   * Each candidate as metadata shows it to this person, in order. A video that is gone or
   * hidden from them drops out; one metadata could not be asked about stays, without a title.
   */
  const shown = async (candidates: Array<Candidate & { reason: Reason }>, authorization: string) => {
    const titles: Array<string | null | undefined> = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < candidates.length) {
        const i = next++;
        const { videoId } = candidates[i] as Candidate;
        try {
          titles[i] = (await lookup.find(videoId, authorization))?.title;
        } catch (err) {
          if (err instanceof FlotillaError && err.code === 'FLT_FORBIDDEN') titles[i] = undefined;
          else {
            log.warn({ err, videoId }, 'video lookup failed');
            titles[i] = null;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, candidates.length) }, worker));
    return candidates.flatMap((c, i) => (titles[i] === undefined ? [] : [{ ...c, title: titles[i] }]));
  };

  app.get(
    '/recommendations',
    { schema: { querystring: RecommendationsQuery, response: { 200: RecommendationsBody } } },
    async (req) => {
      const user = person(callerOf(req));
      const { limit } = req.query;
      const want = limit + SPARE;
      const coViewed = (await store.coViewed(user.sub, want)).map((c) => ({
        ...c,
        reason: 'co-viewed' as const,
      }));
      // No history, or not enough in common with anyone: fill with what is popular.
      const popular =
        coViewed.length < want
          ? (await store.popular(user.sub, want))
              .filter((p) => !coViewed.some((c) => c.videoId === p.videoId))
              .map((c) => ({ ...c, reason: 'popular' as const }))
          : [];
      // requireUser has verified the bearer credential; forwarded as is so metadata decides for the person.
      const list = await shown([...coViewed, ...popular].slice(0, want), req.headers.authorization as string);
      return { user: user.sub, recommendations: list.slice(0, limit) };
    },
  );
}
