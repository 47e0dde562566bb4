import { Viewed, VIEWED } from '@flixtube/messages';
import { keepConsuming, type MessageHandler, type ServiceContext } from '@flotilla/kit';
import type { ViewStore } from './view-store.js';

export type ViewedHandler = MessageHandler<(typeof Viewed)['schema']>;

/** Where views come from: by default history's subscription to `viewed`; tests without a broker pass their own. */
export type ViewedSource = (ctx: ServiceContext, handler: ViewedHandler) => void;

/**
 * history's copy of every `viewed` message (subscriber group `history`; its instances
 * share the copies). The broker may not be up yet when history starts, so the
 * subscription is kept trying in the background; `/readyz` reports `bus:viewed` until
 * it consumes.
 */
export const subscribeViewed: ViewedSource = (ctx, handler) => {
  keepConsuming(ctx, VIEWED, () => ctx.bus.subscribe(VIEWED, Viewed, handler));
};

/**
 * Records each view once per message id: delivery is at least once, so a message that
 * comes again (a redelivery, a retry after a failed ack) is a duplicate, not a new view.
 */
export function recordViewed(store: ViewStore, log: ServiceContext['log']): ViewedHandler {
  return async (view, message) => {
    const recorded = await store.recordViewed(message.id, view.userId, view.videoId, new Date(view.at));
    if (!recorded) log.debug({ messageId: message.id }, 'viewed message seen before; not recorded again');
  };
}
