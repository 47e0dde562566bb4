import { FlotillaError, type ServiceApp } from '@flotilla/kit';
import { AdminDeadLetterQuery, BROKER_ROUTES, ReplayRequest } from '@flotilla/kit/contracts';
import type { BrokerAdmin } from '../admin-operations.js';
import { callerOf } from './caller.js';

/**
 * The operator's routes (`/v1/admin/*`, the broker contract): registered inside the
 * broker API's scope, so a refusal is problem+json and audited like every other.
 */
export function adminRoutes(api: ServiceApp, admin: BrokerAdmin): void {
  api.get(BROKER_ROUTES.adminQueues.path, async (req) => ({ queues: await admin.queues(callerOf(req)) }));
  api.get(
    BROKER_ROUTES.adminDeadLetters.path,
    { schema: { querystring: AdminDeadLetterQuery } },
    async (req) => {
      const { queue, topic, group, limit } = req.query;
      if ((topic === undefined) !== (group === undefined) || (queue !== undefined && topic !== undefined))
        throw new FlotillaError(
          'FLT_VALIDATION',
          'name a queue, or a topic and its subscribing group, or nothing for every queue',
        );
      const source = queue ? { queue } : topic && group ? { topic, group } : undefined;
      return { deadLetters: await admin.deadLetters(callerOf(req), source, limit ?? 100) };
    },
  );
  api.post(BROKER_ROUTES.adminReplays.path, { schema: { body: ReplayRequest } }, async (req) => {
    const caller = callerOf(req);
    const body = req.body;
    return 'id' in body ? admin.replayOne(caller, body.id) : admin.replayAll(caller, body.source);
  });
}
