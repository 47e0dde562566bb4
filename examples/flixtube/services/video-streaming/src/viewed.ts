import { Viewed, VIEWED } from '@flixtube/messages';
import type { MessageBody, ServiceContext } from '@flotilla/kit';
import type { StreamGrant } from './stream-tokens.js';
import type { ViewingSessions } from './viewing-sessions.js';

export type ViewedBody = MessageBody<typeof Viewed>;
/** How a view is announced; default the `viewed` topic on the fleet's bus. */
export type ViewedPublisher = (view: ViewedBody) => Promise<void>;

export const publishOnBus =
  (ctx: Pick<ServiceContext, 'bus'>): ViewedPublisher =>
  async (view) => {
    await ctx.bus.publish(VIEWED, Viewed, view);
  };

/**
 * Announces a viewing session once: the first range request of the session (on any
 * instance: the database's unique key decides) publishes `viewed`; the others do not.
 * A failed publish forgets the session so that its next request announces it; the video
 * still streams (a view not counted is better than a player that stops).
 */
export async function announceOnce(
  grant: StreamGrant,
  sessions: ViewingSessions,
  publish: ViewedPublisher,
  log: ServiceContext['log'],
): Promise<void> {
  if (!(await sessions.start(grant.sessionId, grant.videoId, grant.sub))) return;
  try {
    await publish({
      videoId: grant.videoId,
      userId: grant.sub,
      sessionId: grant.sessionId,
      at: new Date().toISOString(),
    });
  } catch (err) {
    log.warn({ err, videoId: grant.videoId }, 'viewed not published; the session will try again');
    await sessions.forget(grant.sessionId).catch(() => undefined);
  }
}
