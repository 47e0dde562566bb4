import { type ServiceApp, type ServiceContext, toFlotillaError, peerOf } from '@flotilla/kit';
import {
  AckRequest,
  BROKER_ROUTES,
  ConsumeQuery,
  DeadLetterQuery,
  QueueParams,
  Requeue,
  SendRequest,
  Settle,
  TopicParams,
} from '@flotilla/kit/contracts';
import type { BrokerAdmin } from '../admin-operations.js';
import type { DeliveryEngine } from '../delivery/delivery-engine.js';
import type { BrokerMetrics } from '../metrics.js';
import type { BrokerOperations } from '../operations.js';
import { adminRoutes } from './admin-routes.js';
import { callerOf } from './caller.js';
import { openDeliveryStream } from './delivery-stream.js';

export interface BrokerRouteOptions {
  maxMessageBytes: number;
  defaultPrefetch: number;
}

/**
 * The broker API (`BROKER_ROUTES`, the broker contract). Every refusal — a policy
 * denial, a sender that is not the caller, a body that does not validate — is audited
 * by the `onError` hook with the caller's SPIFFE ID, and changes nothing.
 */
export function registerBrokerRoutes(
  app: ServiceApp,
  ctx: ServiceContext,
  ops: BrokerOperations,
  engine: DeliveryEngine,
  metrics: BrokerMetrics,
  opts: BrokerRouteOptions,
  admin: BrokerAdmin,
): void {
  void app.register(async (api) => {
    api.addHook('onError', async (req, _reply, err) => {
      const refused = toFlotillaError(err);
      const peer = peerOf(req);
      if (refused.code === 'FLT_POLICY_DENIED')
        metrics.denials.inc({ action: req.routeOptions.url ?? '', service: peer?.service ?? 'anonymous' });
      await ctx.audit({
        actor: peer?.id ?? 'anonymous',
        action: 'bus.request',
        target: `${req.method} ${req.url.split('?')[0]}`,
        outcome: refused.status === 401 || refused.status === 403 ? 'denied' : 'failure',
        reason: refused.code,
        details: { detail: refused.status < 500 ? refused.message : 'internal' },
      });
    });
    routes(api, ops, engine, opts);
    adminRoutes(api, admin);
  });
}

function routes(
  api: ServiceApp,
  ops: BrokerOperations,
  engine: DeliveryEngine,
  opts: BrokerRouteOptions,
): void {
  const messageRoute = { schema: {}, bodyLimit: opts.maxMessageBytes };
  api.post(
    BROKER_ROUTES.send.path,
    { ...messageRoute, schema: { params: QueueParams, body: SendRequest } },
    async (req, reply) =>
      reply.code(201).send({ ids: await ops.send(callerOf(req), req.params.queue, req.body.message) }),
  );
  api.post(
    BROKER_ROUTES.publish.path,
    { ...messageRoute, schema: { params: TopicParams, body: SendRequest } },
    async (req, reply) =>
      reply.code(201).send({ ids: await ops.publish(callerOf(req), req.params.topic, req.body.message) }),
  );
  api.put(BROKER_ROUTES.subscribe.path, { schema: { params: TopicParams } }, async (req, reply) => {
    await ops.subscribe(callerOf(req), req.params.topic);
    return reply.code(204).send();
  });
  api.get(
    BROKER_ROUTES.consume.path,
    { schema: { params: QueueParams, querystring: ConsumeQuery } },
    async (req, reply) => {
      const caller = callerOf(req);
      const queue = ops.consumable(caller, req.params.queue);
      const prefetch = req.query.prefetch ?? opts.defaultPrefetch;
      return openDeliveryStream(engine, req, reply, queue, caller.service, prefetch);
    },
  );
  api.get(
    BROKER_ROUTES.subscribed.path,
    { schema: { params: TopicParams, querystring: ConsumeQuery } },
    async (req, reply) => {
      const caller = callerOf(req);
      const queue = await ops.subscribe(caller, req.params.topic);
      const prefetch = req.query.prefetch ?? opts.defaultPrefetch;
      return openDeliveryStream(engine, req, reply, queue, caller.service, prefetch);
    },
  );
  api.post(BROKER_ROUTES.ack.path, { schema: { body: AckRequest } }, async (req) => ({
    acked: await engine.ack(req.body.consumer, req.body.ids, callerOf(req).service),
  }));
  api.post(BROKER_ROUTES.nack.path, { schema: { body: Settle } }, async (req, reply) => {
    const { consumer, id, error, retry } = req.body;
    await engine.nack(consumer, id, callerOf(req).service, error ?? 'nacked without a reason', retry ?? true);
    return reply.code(204).send();
  });
  api.post(
    BROKER_ROUTES.requeue.path,
    { bodyLimit: opts.maxMessageBytes, schema: { body: Requeue } },
    async (req, reply) => {
      await engine.requeue(req.body.consumer, req.body.id, callerOf(req).service, req.body.message);
      return reply.code(204).send();
    },
  );
  api.get(BROKER_ROUTES.deadLetters.path, { schema: { querystring: DeadLetterQuery } }, async (req) => {
    const list = await ops.deadLetters(callerOf(req), req.query.queue, req.query.limit ?? 100);
    return { deadLetters: list.map((d) => ({ ...d, deadAt: d.deadAt.toISOString() })) };
  });
}
